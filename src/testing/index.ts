/**
 * `baton/testing`: a plugin author's kit. Policies are pure, so their tests need no gateway:
 * fake nodes and pools whose `usable` the gateway's own rules derive, a pick context,
 * `instantiate` (options validated as the gateway does) and `tally` for ratios.
 * Framework-free: use it with node:test, ava, vitest or anything else.
 */
export { FakeNode, fakeNode, type FakeNodeState } from './fake-node.ts';
export { FakePool, fakePool, type FakePoolOptions } from './fake-pool.ts';
export { instantiate, pickContext, share, tally } from './picks.ts';
