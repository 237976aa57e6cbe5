import test from 'ava';
import { DueQueue } from '../../src/util/due-queue.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

test('waits run when due, in due order, on one timer', (t) => {
  const clock = new FakeClock();
  const queue = new DueQueue(clock);
  const ran: string[] = [];
  queue.add(30, () => ran.push('c'));
  queue.add(10, () => ran.push('a'));
  queue.add(20, () => ran.push('b'));
  t.is(clock.pending, 1);
  clock.advance(9);
  t.deepEqual(ran, []);
  clock.advance(1);
  t.deepEqual(ran, ['a']);
  clock.advance(20);
  t.deepEqual(ran, ['a', 'b', 'c']);
  t.is(queue.size, 0);
  t.is(clock.pending, 0);
});

test('a cancelled wait never runs, and the ones after it still do', (t) => {
  const clock = new FakeClock();
  const queue = new DueQueue(clock);
  const ran: string[] = [];
  const first = queue.add(10, () => ran.push('first'));
  queue.add(10, () => ran.push('second'));
  const third = queue.add(15, () => ran.push('third'));
  first.cancel();
  third.cancel();
  clock.advance(20);
  t.deepEqual(ran, ['second']);
  t.is(queue.size, 0);
});

test('a wait added while others run is kept for its own time', (t) => {
  const clock = new FakeClock();
  const queue = new DueQueue(clock);
  const ran: number[] = [];
  queue.add(10, () => {
    ran.push(clock.now());
    queue.add(10, () => ran.push(clock.now()));
  });
  clock.advance(30);
  const start = 1_000_000;
  t.deepEqual(ran, [start + 10, start + 20]);
});

test('only cancelled waits: the timer fires once and forgets them', (t) => {
  const clock = new FakeClock();
  const queue = new DueQueue(clock);
  for (let i = 0; i < 5; i++) queue.add(10, () => t.fail()).cancel();
  t.is(queue.size, 5);
  clock.advance(10);
  t.is(queue.size, 0);
  t.is(clock.pending, 0);
});
