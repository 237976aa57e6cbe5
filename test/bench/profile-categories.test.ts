import test from 'ava';
import {
  busy,
  type CpuProfile,
  categorise,
  category,
  mainThreadFile,
  table,
} from '../../bench/lib/profile-categories.ts';

const cases: Array<[functionName: string, url: string, expected: string]> = [
  ['(idle)', '', 'idle'],
  ['(garbage collector)', '', 'GC'],
  ['(program)', '', '(program)'],
  ['writev', '', 'native socket calls (write*, read*)'],
  ['writeUtf8String', '', 'native socket calls (write*, read*)'],
  ['readStart', '', 'native socket calls (write*, read*)'],
  ['hrtime', '', 'other native'],
  ['parserOnHeadersComplete', 'node:_http_common', 'node internals (http)'],
  ['Readable.push', 'node:internal/streams/readable', 'node internals (streams/net/events)'],
  ['emit', 'node:events', 'node internals (streams/net/events)'],
  ['onStreamRead', 'node:net', 'node internals (streams/net/events)'],
  ['processTicksAndRejections', 'node:internal/process/task_queues', 'node internals (other)'],
  ['write', 'file:///w/node_modules/pino/lib/proto.js', 'lib pino'],
  ['dispatch', 'file:///w/node_modules/@koa/router/lib/router.js', 'lib @koa/router'],
  ['x', 'file:///w/node_modules/a/node_modules/on-finished/index.js', 'lib on-finished'],
  ['attempt', 'file:///w/dist/src/proxy/attempt.js', 'baton proxy'],
  ['main', 'file:///w/dist/src/cli.js', 'baton cli.js'],
  ['defineConfig', 'file:///w/src/config/define.ts', 'baton sources config'],
  ['<anonymous>', 'file:///w/bench/lib/raw-proxy.ts', 'bench script'],
  ['f', 'file:///tmp/x/baton.config.ts', 'other baton.config.ts'],
];
for (const [functionName, url, expected] of cases)
  test(`${functionName} ${url || '(native)'} → ${expected}`, (t) => {
    t.is(category({ functionName, url }), expected);
  });

/** Four nodes, six samples 100 µs apart from startTime 1000: at 1100 … 1600. */
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: { functionName: '(root)', url: '' } },
    { id: 2, callFrame: { functionName: '(idle)', url: '' } },
    { id: 3, callFrame: { functionName: '(garbage collector)', url: '' } },
    { id: 4, callFrame: { functionName: 'attempt', url: 'file:///w/dist/src/proxy/attempt.js' } },
  ],
  startTime: 1000,
  endTime: 1600,
  samples: [4, 4, 2, 3, 4, 2],
  timeDeltas: [100, 100, 100, 100, 100, 100],
};

test('the whole profile: each sample is charged the delta before it', (t) => {
  const { micros, counts, sampled } = categorise(profile);
  t.deepEqual(Object.fromEntries(micros), { 'baton proxy': 300, idle: 200, GC: 100 });
  t.deepEqual(Object.fromEntries(counts), { 'baton proxy': 3, idle: 2, GC: 1 });
  t.is(sampled, 600);
  t.is(busy(micros), 400);
});

test('a window keeps only the samples taken in it, ends included', (t) => {
  // Samples at 1300 (idle), 1400 (GC), 1500 (attempt).
  const { micros, sampled } = categorise(profile, { from: 1300, to: 1500 });
  t.deepEqual(Object.fromEntries(micros), { idle: 100, GC: 100, 'baton proxy': 100 });
  t.is(sampled, 300);
});

test('a sample taken late is charged the whole gap, counted once', (t) => {
  // The thread was descheduled: the sample after the gap comes 900 µs late.
  const late = { ...profile, timeDeltas: [100, 100, 100, 100, 1000, 100] };
  const { micros, counts } = categorise(late);
  t.is(micros.get('baton proxy'), 1200);
  t.is(counts.get('baton proxy'), 3);
});

test('a window outside the profile keeps nothing', (t) => {
  const { micros, sampled } = categorise(profile, { from: 5000, to: 6000 });
  t.is(micros.size, 0);
  t.is(sampled, 0);
});

test('the main thread is thread 0 of the process', (t) => {
  t.is(
    mainThreadFile(['CPU.20261201.031032.11195.1.002.cpuprofile', 'CPU.20261201.031032.11195.0.001.cpuprofile']),
    'CPU.20261201.031032.11195.0.001.cpuprofile',
  );
  t.is(mainThreadFile(['CPU.20261201.031032.11195.1.002.cpuprofile']), undefined);
});

test('the table: µs per request, small rows summed, busy total and requests', (t) => {
  const columns = [
    {
      name: 'a 1',
      micros: new Map([
        ['GC', 100],
        ['baton proxy', 1000],
        ['idle', 5000],
        ['lib x', 2],
      ]),
      requests: 100,
    },
    {
      name: 'b 1',
      micros: new Map([
        ['GC', 300],
        ['lib y', 3],
      ]),
      requests: 200,
      extra: { 'process CPU': '7.0' },
    },
  ];
  t.is(
    table(columns),
    [
      '| µs per request | a 1 | b 1 |',
      '|---|---|---|',
      '| baton proxy | 10.0 | 0.0 |',
      '| GC | 1.0 | 1.5 |',
      '| (2 more, each under 0.5) | 0.0 | 0.0 |',
      '| **busy total** | **11.0** | **1.5** |',
      '| requests | 100 | 200 |',
      '| process CPU | – | 7.0 |',
    ].join('\n'),
  );
});
