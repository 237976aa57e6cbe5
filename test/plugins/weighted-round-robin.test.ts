import test from 'ava';
import weighted from '../../plugins/weighted-round-robin.ts';
import { fakeNode, fakePool, instantiate, pickContext, tally } from '../helpers/fake-pool.ts';

test('smooth: weights 5,1,1 give the NGINX sequence a a b a c a a', (t) => {
  const pool = fakePool([fakeNode('a', { weight: 5 }), fakeNode('b'), fakeNode('c')]);
  const policy = instantiate(weighted, {}, pool);
  const picks = Array.from({ length: 7 }, () => policy.pick(pool, pickContext())?.id);
  t.deepEqual(picks, ['a', 'a', 'b', 'a', 'c', 'a', 'a']);
});

test('10k picks follow the weights exactly', (t) => {
  const pool = fakePool([fakeNode('a', { weight: 3 }), fakeNode('b', { weight: 2 }), fakeNode('c', { weight: 5 })]);
  const counts = tally(instantiate(weighted, {}, pool), pool, 10_000);
  t.deepEqual(Object.fromEntries(counts), { a: 3000, b: 2000, c: 5000 });
});

test('an unusable node is left out and the others keep their ratio', (t) => {
  const pool = fakePool([fakeNode('a', { weight: 3 }), fakeNode('b', { weight: 1, usable: false }), fakeNode('c', { weight: 1 })]);
  const counts = tally(instantiate(weighted, {}, pool), pool, 8000);
  t.deepEqual(Object.fromEntries(counts), { a: 6000, c: 2000 });
});

test('skips tried nodes and stays in the lowest usable tier', (t) => {
  const pool = fakePool([fakeNode('a', { weight: 10 }), fakeNode('b'), fakeNode('s', { tier: 1, weight: 100 })]);
  const policy = instantiate(weighted, {}, pool);
  t.is(policy.pick(pool, pickContext({ tried: new Set(['a']) }))?.id, 'b');
  t.is(policy.pick(pool, pickContext({ tried: new Set(['a', 'b']) }))?.id, 's');
});
