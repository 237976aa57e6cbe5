import test from 'ava';
import { BUDGET_CAPACITY, deposit, fullBudget, withdraw, type BudgetState } from '../../src/hedge/hedge-budget.ts';

test('a new pool may hedge a burst of BUDGET_CAPACITY at once, then no more', (t) => {
  let state: BudgetState = fullBudget;
  let hedges = 0;
  for (let i = 0; i < 100; i++) {
    const next = withdraw(state);
    if (!next) break;
    state = next;
    hedges += 1;
  }
  t.is(hedges, BUDGET_CAPACITY);
  t.is(withdraw(state), undefined);
});

// [share, requests, every request wants a hedge: hedges allowed at most]
const shares: Array<[number, number]> = [
  [0.05, 1000],
  [0.05, 10_000],
  [0.01, 5000],
  [0.5, 1000],
];
for (const [share, requests] of shares) {
  test(`share ${share * 100}%: over ${requests} requests that all want a hedge, at most share × requests + the burst`, (t) => {
    let state: BudgetState = fullBudget;
    let hedges = 0;
    for (let i = 0; i < requests; i++) {
      state = deposit(state, share);
      const next = withdraw(state);
      if (next) {
        state = next;
        hedges += 1;
      }
    }
    t.true(hedges <= share * requests + BUDGET_CAPACITY + 1e-9, `${hedges}`);
    t.true(hedges >= share * requests - 1, `${hedges}: the share itself is available`);
  });
}

test('deposits never fill the bucket beyond its capacity', (t) => {
  let state: BudgetState = { tokens: 0 };
  for (let i = 0; i < 10_000; i++) state = deposit(state, 0.05);
  t.is(state.tokens, BUDGET_CAPACITY);
});
