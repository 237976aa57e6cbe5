import test from 'ava';
import {
  failureOutcome,
  startWatching,
  streamVerdict,
  uploadStalled,
  type StreamProgress,
} from '../../src/proxy/attempt-rules.ts';

const limits = { responseTimeoutMs: 300, sendTimeoutMs: 1000 };

/** Looks in order: [ms since start, upstream bytes, client bytes, client behind] → verdict of the last look. */
const cases: Array<{ name: string; looks: Array<[number, number, number, boolean]>; verdict: string }> = [
  {
    name: 'both sides moving',
    looks: [
      [300, 10, 10, false],
      [600, 20, 20, false],
    ],
    verdict: 'flowing',
  },
  { name: 'upstream silent while the client keeps up', looks: [[300, 0, 0, false]], verdict: 'upstream-stalled' },
  {
    name: 'upstream silent, but only for part of the timeout',
    looks: [
      [150, 10, 10, false],
      [300, 10, 10, false],
    ],
    verdict: 'flowing',
  },
  {
    name: 'upstream silent while the client is behind: not counted',
    looks: [
      [300, 0, 0, true],
      [600, 0, 0, true],
      [900, 0, 0, true],
    ],
    verdict: 'flowing',
  },
  {
    name: 'client catches up, then the upstream gets its full timeout',
    looks: [
      [300, 0, 0, true],
      [450, 0, 0, false],
    ],
    verdict: 'flowing',
  },
  {
    name: 'client caught up and the upstream stays silent',
    looks: [
      [300, 0, 0, true],
      [600, 0, 0, false],
    ],
    verdict: 'upstream-stalled',
  },
  {
    name: 'client behind and taking nothing for the send timeout',
    looks: [
      [300, 5, 0, true],
      [600, 5, 0, true],
      [1000, 5, 0, true],
    ],
    verdict: 'client-stalled',
  },
  {
    name: 'client behind but slowly taking bytes',
    looks: [
      [300, 5, 1, true],
      [600, 5, 2, true],
      [900, 5, 3, true],
      [1200, 5, 4, true],
    ],
    verdict: 'flowing',
  },
];

for (const c of cases) {
  test(`stream progress: ${c.name}`, (t) => {
    const progress: StreamProgress = { upstreamBytes: 0, upstreamSince: 0, clientBytes: 0, clientSince: 0 };
    startWatching(progress, 0, 0, 0);
    let verdict = '';
    for (const [now, upstreamBytes, clientBytes, clientBehind] of c.looks) {
      verdict = streamVerdict(progress, { now, upstreamBytes, clientBytes, clientBehind, ...limits });
      if (verdict !== 'flowing') break;
    }
    t.is(verdict, c.verdict);
  });
}

test('upload: stalled only when nothing went out and our side toward the upstream is full', (t) => {
  t.true(uploadStalled(100, 100, true));
  t.false(uploadStalled(100, 200, true), 'bytes went out');
  t.false(uploadStalled(100, 100, false), 'waiting for the client, not the upstream');
});

test('failures before a response: connect, broken response, reset', (t) => {
  const error = (code: string) => Object.assign(new Error(code), { code });
  t.like(failureOutcome(true, error('ECONNREFUSED'), 1), { kind: 'connect', failed: true, detail: 'ECONNREFUSED' });
  t.like(failureOutcome(false, error('HPE_INVALID_CONSTANT'), 1), { kind: 'bad-response', failed: true });
  t.like(failureOutcome(false, error('ECONNRESET'), 1), { kind: 'reset', detail: 'connection reset before response' });
});

const moreCases: Array<{ name: string; looks: Array<[number, number, number, boolean]>; verdict: string }> = [
  { name: 'upstream silent one ms short of the timeout', looks: [[299, 0, 0, false]], verdict: 'flowing' },
  { name: 'client behind one ms short of the send timeout', looks: [[999, 0, 0, true]], verdict: 'flowing' },
  {
    name: 'upstream bytes arriving reset its clock',
    looks: [
      [200, 10, 10, false],
      [450, 10, 10, false],
    ],
    verdict: 'flowing',
  },
  {
    name: 'upstream bytes arriving reset its clock, then it stalls a full timeout',
    looks: [
      [200, 10, 10, false],
      [500, 10, 10, false],
    ],
    verdict: 'upstream-stalled',
  },
  {
    name: 'a client taking bytes while behind resets the send clock',
    looks: [
      [600, 5, 1, true],
      [1500, 5, 1, true],
    ],
    verdict: 'flowing',
  },
  {
    name: 'a client taking bytes while behind, then nothing for the send timeout',
    looks: [
      [600, 5, 1, true],
      [1600, 5, 1, true],
    ],
    verdict: 'client-stalled',
  },
  {
    name: 'a client that is not behind is never stalled, however long',
    looks: [
      [100, 1, 0, false],
      [200, 2, 0, false],
      [5000, 3, 0, false],
    ],
    verdict: 'flowing',
  },
];

for (const c of moreCases) {
  test(`stream progress: ${c.name}`, (t) => {
    const progress: StreamProgress = { upstreamBytes: 0, upstreamSince: 0, clientBytes: 0, clientSince: 0 };
    startWatching(progress, 0, 0, 0);
    let verdict = '';
    for (const [now, upstreamBytes, clientBytes, clientBehind] of c.looks) {
      verdict = streamVerdict(progress, { now, upstreamBytes, clientBytes, clientBehind, ...limits });
      if (verdict !== 'flowing') break;
    }
    t.is(verdict, c.verdict);
  });
}

test('startWatching: both clocks start now, from the byte counts given', (t) => {
  const progress: StreamProgress = { upstreamBytes: -1, upstreamSince: -1, clientBytes: -1, clientSince: -1 };
  startWatching(progress, 1000, 5, 7);
  t.deepEqual(progress, { upstreamBytes: 5, upstreamSince: 1000, clientBytes: 7, clientSince: 1000 });
  t.is(
    streamVerdict(progress, { now: 1299, upstreamBytes: 5, clientBytes: 7, clientBehind: false, ...limits }),
    'flowing',
  );
  t.is(
    streamVerdict(progress, { now: 1300, upstreamBytes: 5, clientBytes: 7, clientBehind: false, ...limits }),
    'upstream-stalled',
  );
});

test('failures before a response: every field, and the code or message as the detail', (t) => {
  const error = (code: string | undefined, message = 'boom') =>
    Object.assign(new Error(message), code === undefined ? {} : { code });
  t.deepEqual(
    failureOutcome(true, error('HPE_INVALID_CONSTANT'), 7),
    { kind: 'connect', failed: true, latencyMs: 7, detail: 'HPE_INVALID_CONSTANT' },
    'while connecting, any error is a connect failure',
  );
  t.deepEqual(failureOutcome(false, error('HPE_INVALID_CONSTANT'), 8), {
    kind: 'bad-response',
    failed: true,
    latencyMs: 8,
    detail: 'HPE_INVALID_CONSTANT',
  });
  t.deepEqual(failureOutcome(false, error('EPIPE'), 9), { kind: 'reset', failed: true, latencyMs: 9, detail: 'EPIPE' });
  t.deepEqual(failureOutcome(false, error('ECONNRESET'), 10), {
    kind: 'reset',
    failed: true,
    latencyMs: 10,
    detail: 'connection reset before response',
  });
  t.deepEqual(failureOutcome(false, error(undefined, 'socket hang up'), 11), {
    kind: 'reset',
    failed: true,
    latencyMs: 11,
    detail: 'socket hang up',
  });
  t.deepEqual(
    failureOutcome(false, error('XHPE_'), 12),
    { kind: 'reset', failed: true, latencyMs: 12, detail: 'XHPE_' },
    'HPE_ only as a prefix',
  );
});
