import test from 'ava';
import { eligibleNodes } from '../../src/policy/eligible.ts';
import { fakeNode, fakePool, pickContext } from '../helpers/fake-pool.ts';

test('lowest tier with a usable untried node', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b', { usable: false }), fakeNode('s', { tier: 1 })]);
  t.deepEqual(eligibleNodes(pool, pickContext()).map((n) => n.id), ['a']);
  t.deepEqual(eligibleNodes(pool, pickContext({ tried: new Set(['a']) })).map((n) => n.id), ['s']);
  pool.node('a').usable = false;
  t.deepEqual(eligibleNodes(pool, pickContext()).map((n) => n.id), ['s']);
});

test('with a version, first-try answers are cached until the version moves', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b')]);
  pool.version = 1;
  const first = eligibleNodes(pool, pickContext());
  t.is(eligibleNodes(pool, pickContext()), first, 'same array while the version stays');
  pool.node('a').usable = false;
  t.is(eligibleNodes(pool, pickContext()), first, 'a change without a version bump is not seen (the gateway re-picks)');
  pool.version = 2;
  t.deepEqual(eligibleNodes(pool, pickContext()).map((n) => n.id), ['b']);
});

test('retries (something tried) are never served from the cache', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b')]);
  pool.version = 1;
  eligibleNodes(pool, pickContext());
  t.deepEqual(eligibleNodes(pool, pickContext({ tried: new Set(['b']) })).map((n) => n.id), ['a']);
});
