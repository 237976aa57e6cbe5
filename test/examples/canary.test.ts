import test from 'ava';
import canary, { bucket } from '../../examples/plugins/canary.ts';
import { fakeNode, fakePool, instantiate, pickContext } from '../../src/testing/index.ts';

const pool = () => fakePool([fakeNode('stable-1'), fakeNode('stable-2'), fakeNode('v2')]);

test('about `percent` of clients reach the canary, and each client always lands on the same side', (t) => {
  const p = pool();
  const policy = instantiate(canary, { canary: ['v2'], percent: 10 }, p);
  let toCanary = 0;
  for (let i = 0; i < 10_000; i++) {
    const clientIp = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const first = policy.pick(p, pickContext({ clientIp }))!.id === 'v2';
    const second = policy.pick(p, pickContext({ clientIp }))!.id === 'v2';
    t.is(first, second);
    if (first) toCanary += 1;
  }
  t.true(toCanary > 800 && toCanary < 1200, `${toCanary} of 10000 clients on the canary`);
});

test('a header pins the request to one side', (t) => {
  const p = pool();
  const policy = instantiate(canary, { canary: ['v2'], percent: 0 }, p);
  t.is(policy.pick(p, pickContext({ headers: { 'x-canary': 'always' } }))!.id, 'v2');
  const policyAll = instantiate(canary, { canary: ['v2'], percent: 100 }, p);
  t.not(policyAll.pick(p, pickContext({ headers: { 'x-canary': 'never' } }))!.id, 'v2');
});

test('a side without a usable node falls back to the other side (here: the canary is down)', (t) => {
  const p = pool();
  const policy = instantiate(canary({ canary: ['v2'], percent: 100 }), p);
  p.node('v2').local = 'down';
  t.not(policy.pick(p, pickContext())!.id, 'v2');
  t.is(policy.pick(p, pickContext({ tried: new Set(['stable-1', 'stable-2', 'v2']) })), undefined);
});

test('options are checked', (t) => {
  t.false(canary.options!.safeParse({ canary: [] }).success);
  t.false(canary.options!.safeParse({ canary: ['v2'], percent: 150 }).success);
  t.like(canary.options!.parse({ canary: ['v2'] }), { percent: 5, header: 'x-canary' });
});

test('buckets are spread over 0..99', (t) => {
  const seen = new Set(Array.from({ length: 5000 }, (_, i) => bucket(`client-${i}`)));
  t.is(seen.size, 100);
});
