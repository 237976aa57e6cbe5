import test from 'ava';
import { isIdempotent, mayRetry, type RetryFacts } from '../../src/pipeline/retry-rule.ts';

const base: RetryFacts = {
  outcome: 'connect',
  idempotent: true,
  nonIdempotent: false,
  replayable: true,
  attempt: 1,
  attempts: 3,
  now: 0,
  deadline: 1000,
};

const cases: Array<[name: string, facts: Partial<RetryFacts>, retry: boolean]> = [
  ['connect failure, GET', { outcome: 'connect' }, true],
  ['connect failure, POST (never reached the upstream)', { outcome: 'connect', idempotent: false }, true],
  ['breaker open, POST (never sent)', { outcome: 'breaker-open', idempotent: false }, true],
  ['reset, GET', { outcome: 'reset' }, true],
  ['reset, POST: may have been processed', { outcome: 'reset', idempotent: false }, false],
  ['reset, POST with nonIdempotent opted in', { outcome: 'reset', idempotent: false, nonIdempotent: true }, true],
  ['timeout, GET', { outcome: 'timeout' }, true],
  ['timeout, POST', { outcome: 'timeout', idempotent: false }, false],
  ['bad response, GET', { outcome: 'bad-response' }, true],
  ['retryable status, GET', { outcome: 'status' }, true],
  ['retryable status, POST', { outcome: 'status', idempotent: false }, false],
  ['success', { outcome: 'ok' }, false],
  ['client gone', { outcome: 'aborted' }, false],
  ['attempts used up', { attempt: 3 }, false],
  ['deadline passed', { now: 1000 }, false],
  ['body streamed, not buffered: cannot be sent again', { replayable: false }, false],
  ['streamed body even for a connect failure', { outcome: 'connect', replayable: false, idempotent: false }, false],
];

for (const [name, facts, retry] of cases) {
  test(`${retry ? 'retry' : 'no retry'}: ${name}`, (t) => {
    t.is(mayRetry({ ...base, ...facts }), retry);
  });
}

test('idempotent methods, and any method with an Idempotency-Key', (t) => {
  for (const method of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']) t.true(isIdempotent(method, {}), method);
  for (const method of ['POST', 'PATCH']) t.false(isIdempotent(method, {}), method);
  t.true(isIdempotent('POST', { 'idempotency-key': 'order-17' }));
});
