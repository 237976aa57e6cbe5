import test from 'ava';
import type { Health } from '../../src/policy/types.ts';
import { clusterVerdict, quorumSize } from '../../src/state/verdict.ts';

// The cluster verdict from the live instances' votes (one vote per instance).
const verdicts: Array<[votes: Health[], quorum: number, verdict: Health, why: string]> = [
  [[], 1, 'unknown', 'nobody has checked'],
  [['unknown'], 1, 'unknown', 'an instance that has not decided yet is no up vote'],
  [['unknown', 'unknown', 'unknown'], 1, 'unknown', 'however many of them'],
  [['up'], 1, 'up', 'one instance sees it up'],
  [['up', 'unknown'], 1, 'up', 'up wins over undecided'],
  [['down'], 1, 'down', 'quorum 1: one down vote is enough'],
  [['down', 'up', 'up'], 1, 'down', 'quorum 1: down even when others see it up'],
  [['down'], 2, 'unknown', 'quorum 2, one down vote and no up vote: not up'],
  [['down', 'unknown'], 2, 'unknown', 'quorum 2, one down and one undecided: not up'],
  [['down', 'up'], 2, 'up', 'quorum 2, one down vote: the up vote holds'],
  [['down', 'down'], 2, 'down', 'quorum 2 reached exactly'],
  [['down', 'down', 'up'], 2, 'down', 'quorum 2 reached, whatever the rest say'],
  [['down', 'down'], 3, 'unknown', 'quorum 3 not reached, nobody sees it up'],
];

for (const [votes, quorum, verdict, why] of verdicts) {
  test(`[${votes.join(', ')}] with quorum ${quorum}: ${verdict} (${why})`, (t) => {
    t.is(clusterVerdict(votes, quorum), verdict);
  });
}

test('votes are read once, from any iterable (the store passes a map of votes)', (t) => {
  const votes = new Map<string, Health>([
    ['i1', 'down'],
    ['i2', 'unknown'],
    ['i3', 'down'],
  ]);
  t.is(clusterVerdict(votes.values(), 2), 'down');
});

// 'majority' is more than half of the live instances; a number is taken as it is.
const quorums: Array<[quorum: number | 'majority', live: number, size: number]> = [
  ['majority', 0, 1],
  ['majority', 1, 1],
  ['majority', 2, 2],
  ['majority', 3, 2],
  ['majority', 4, 3],
  ['majority', 5, 3],
  [1, 5, 1],
  [2, 1, 2],
  [3, 0, 3],
];

for (const [quorum, live, size] of quorums) {
  test(`quorum ${quorum} of ${live} live instances: ${size}`, (t) => {
    t.is(quorumSize(quorum, live), size);
  });
}
