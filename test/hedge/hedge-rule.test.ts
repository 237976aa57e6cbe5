import test from 'ava';
import { mayHedge, type HedgeFacts } from '../../src/hedge/hedge-rule.ts';

const base: HedgeFacts = {
  idempotent: true,
  replayable: true,
  upgrade: false,
  activePassive: false,
  attempt: 1,
  attempts: 3,
  hedges: 0,
  maxHedges: 1,
  now: 1000,
  deadline: 2000,
};

const cases: Array<[string, Partial<HedgeFacts>, boolean]> = [
  ['an idempotent request with a replayable body, a try to spare', {}, true],
  ['a POST without Idempotency-Key: never (it would arrive twice)', { idempotent: false }, false],
  ['a streamed body: never (it cannot be read twice)', { replayable: false }, false],
  ['a websocket or other upgrade: never', { upgrade: true }, false],
  ['an active-passive pool: never (only the active node takes requests)', { activePassive: true }, false],
  ['hedge.max reached', { hedges: 1 }, false],
  ['hedge.max 2, one sent', { hedges: 1, maxHedges: 2 }, true],
  ['retry.attempts used up (a hedge is a try)', { attempt: 3 }, false],
  ['retry.attempts 1: no second try of any kind', { attempt: 1, attempts: 1 }, false],
  ['past the deadline', { now: 2000 }, false],
];

for (const [name, patch, expected] of cases) {
  test(name, (t) => t.is(mayHedge({ ...base, ...patch }), expected));
}
