import { defineConfig } from 'baton';
import { hotStandby } from 'baton/policies';
import { fakeNode } from 'baton/testing';

// The public types are real types, not `any`: each line below must be an error.

// @ts-expect-error failbackDelay is a duration
hotStandby({ failbackDelay: true });
// @ts-expect-error a node's usable is derived from its state
fakeNode('a').usable = false;
// @ts-expect-error a route names a pool that exists
defineConfig({ listen: { port: 1 }, pools: { a: { policy: 'round-robin', nodes: [] } }, routes: [{ pool: 'b' }] });
