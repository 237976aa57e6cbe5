import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeNode, fakePool, instantiate, pickContext, tally } from 'baton/testing';
import { preferLast } from './prefer-last.js';

test('prefer-last: the last usable node of the lowest tier that has one', () => {
  const pool = fakePool([fakeNode('a'), fakeNode('b'), fakeNode('c', { tier: 1 })]);
  const policy = instantiate(preferLast({}), pool);
  assert.deepEqual([...tally(policy, pool, 10)], [['b', 10]]);
  pool.node('b').local = 'down';
  assert.equal(policy.pick(pool, pickContext())?.id, 'a');
  pool.node('a').breaker = 'open';
  assert.equal(policy.pick(pool, pickContext())?.id, 'c');
  assert.throws(() => instantiate(preferLast, { skip: 'a' } as never, pool), /skip/);
});
