import test, { type ExecutionContext } from 'ava';
import type { StateStore, StoreChange } from '../../src/state/types.ts';
import { eventually } from '../helpers/http.ts';

/**
 * Makes `count` started stores that form one cluster (instances i0, i1, …); `another(id)` makes
 * one more store of the same cluster, not started.
 */
export type ClusterFactory = (
  t: ExecutionContext,
  count: number,
  options: { quorum?: number | 'majority' },
) => Promise<StateStore[] & { another(instanceId: string): StateStore }>;

/** Collects every change a store announces. */
function record(store: StateStore): StoreChange[] {
  const changes: StoreChange[] = [];
  store.onChange((change) => changes.push(change));
  return changes;
}

/**
 * The behaviour every StateStore must have, run against the memory store (a shared hub) and
 * the Redis store (a real redis-server): the same tests, so both can stand in for each other.
 */
export function storeContract(name: string, cluster: ClusterFactory): void {
  test(`${name}: one instance's down vote is the cluster verdict with quorum 1, seen by all`, async (t) => {
    const [a, b] = await cluster(t, 2, {});
    const seenByB = record(b!);
    a!.reportHealth('api', 'n1', 'up', 'probe ok');
    await eventually(() => b!.clusterHealth('api', 'n1')?.verdict === 'up', 2000);
    a!.reportHealth('api', 'n1', 'down', 'probe failed');
    await eventually(() => b!.clusterHealth('api', 'n1')?.verdict === 'down', 2000);
    t.deepEqual(a!.clusterHealth('api', 'n1')?.downVotes, [a!.instanceId]);
    t.true(seenByB.some((c) => c.type === 'health' && c.node === 'n1' && c.health.verdict === 'down'));
    t.true(
      seenByB.some((c) => c.type === 'suspect' && c.node === 'n1' && c.by === a!.instanceId),
      'others hear the suspicion',
    );
  });

  test(`${name}: quorum 2 needs two instances to agree that a node is down`, async (t) => {
    const [a, b, c] = await cluster(t, 3, { quorum: 2 });
    a!.reportHealth('api', 'n1', 'up', 'ok');
    b!.reportHealth('api', 'n1', 'up', 'ok');
    await eventually(() => c!.clusterHealth('api', 'n1')?.verdict === 'up', 2000);
    a!.reportHealth('api', 'n1', 'down', 'a cannot reach it');
    // c has heard a's vote (it is counted in the record) and the verdict is still up.
    await eventually(() => c!.clusterHealth('api', 'n1')?.downVotes.includes(a!.instanceId) === true, 2000);
    t.like(c!.clusterHealth('api', 'n1'), { verdict: 'up', downVotes: [a!.instanceId] }, 'one vote is not enough');
    b!.reportHealth('api', 'n1', 'down', 'b cannot reach it either');
    await eventually(() => c!.clusterHealth('api', 'n1')?.verdict === 'down', 2000);
    a!.reportHealth('api', 'n1', 'up', 'a reaches it again');
    await eventually(() => c!.clusterHealth('api', 'n1')?.verdict === 'up', 2000);
  });

  test(`${name}: 'majority' means more than half of the live instances`, async (t) => {
    const [a, b, c] = await cluster(t, 3, { quorum: 'majority' });
    a!.reportHealth('api', 'n1', 'down', 'x');
    await eventually(() => c!.clusterHealth('api', 'n1')?.downVotes.includes(a!.instanceId) === true, 2000);
    t.not(c!.clusterHealth('api', 'n1')?.verdict, 'down', 'one vote of three is not a majority');
    b!.reportHealth('api', 'n1', 'down', 'x');
    await eventually(() => c!.clusterHealth('api', 'n1')?.verdict === 'down', 2000);
  });

  test(`${name}: compare-and-set on the epoch: a stale proposal loses, every instance follows the winner`, async (t) => {
    const [a, b] = await cluster(t, 2, {});
    const won = await a!.propose('db', { expectedEpoch: 0, to: 'primary', reason: 'initial' });
    t.like(won, { active: 'primary', epoch: 1, by: a!.instanceId });
    t.is(await b!.propose('db', { expectedEpoch: 0, to: 'standby', reason: 'stale view' }), undefined);
    await eventually(() => b!.activeState('db')?.epoch === 1, 2000);
    t.like(b!.activeState('db'), { active: 'primary', epoch: 1 });
    const next = await b!.propose('db', { expectedEpoch: 1, to: 'standby', reason: 'primary down' });
    t.like(next, { active: 'standby', epoch: 2 });
    await eventually(() => a!.activeState('db')?.active === 'standby', 2000);
  });

  test(`${name}: three instances racing for 100 rounds: exactly one winner per round, all agree`, async (t) => {
    t.timeout(60_000);
    const stores = await cluster(t, 3, {});
    for (let round = 0; round < 100; round++) {
      const epoch = round;
      const results = await Promise.all(
        stores.map((store, i) =>
          store.propose('race', { expectedEpoch: epoch, to: `node-${i}`, reason: `round ${round}` }),
        ),
      );
      const winners = results.filter((r) => r !== undefined);
      t.is(winners.length, 1, `round ${round}: ${winners.length} winners`);
      await eventually(() => stores.every((s) => s.activeState('race')?.epoch === epoch + 1), 2000);
      const actives = new Set(stores.map((s) => s.activeState('race')!.active));
      t.is(actives.size, 1, `round ${round}: instances disagree`);
      t.is([...actives][0], winners[0]!.active);
    }
  });

  test(`${name}: live instances are listed; a stopped one is gone and its votes stop counting`, async (t) => {
    const [a, b] = await cluster(t, 2, {});
    await eventually(() => a!.instances().length === 2, 3000);
    t.true(a!.instances().some((i) => i.self && i.id === a!.instanceId));
    b!.reportHealth('api', 'n1', 'down', 'b sees it down');
    await eventually(() => a!.clusterHealth('api', 'n1')?.verdict === 'down', 2000);
    await b!.stop();
    await eventually(() => a!.instances().length === 1, 3000);
    await eventually(() => a!.clusterHealth('api', 'n1')?.verdict !== 'down', 3000);
    // Its vote is gone, and with no instance left that reports the node up it is unknown, not up.
    t.like(a!.clusterHealth('api', 'n1'), { verdict: 'unknown', downVotes: [] });
    t.deepEqual(
      a!.instances().map((i) => i.id),
      [a!.instanceId],
    );
  });

  test(`${name}: the active state carries its proposal id, the previous node, flips and the operator's pin, for all`, async (t) => {
    const [a, b] = await cluster(t, 2, {});
    const first = await a!.propose('db', { expectedEpoch: 0, to: 'primary', reason: 'initial' });
    t.like(first, { from: null, flips: 0, pinned: false });
    const forced = await b!.propose('db', {
      expectedEpoch: 1,
      to: 'standby',
      reason: 'operator',
      flips: 1,
      pinned: true,
    });
    t.like(forced, { active: 'standby', epoch: 2, from: 'primary', flips: 1, pinned: true, by: b!.instanceId });
    t.truthy(forced!.id);
    t.not(forced!.id, first!.id);
    await eventually(() => a!.activeState('db')?.epoch === 2, 2000);
    t.deepEqual(a!.activeState('db'), forced);
  });

  test(`${name}: a second instance with the same id is refused at start`, async (t) => {
    const stores = await cluster(t, 1, {});
    const a = stores[0];
    const twin = stores.another(a!.instanceId);
    t.teardown(() => twin.stop());
    const error = await t.throwsAsync(() => twin.start());
    t.is((error as { code?: string }).code, 'DUPLICATE_INSTANCE');
    t.regex(error!.message, /same instance id/);
    a!.reportHealth('api', 'n1', 'down', 'still counts');
    await eventually(() => a!.clusterHealth('api', 'n1')?.verdict === 'down', 2000);
    t.true(a!.connected, 'the instance that holds the id is unaffected');
  });

  test(`${name}: who votes a node down is current on every instance, also when the verdict stays`, async (t) => {
    const [a, b, c] = await cluster(t, 3, {});
    a!.reportHealth('api', 'n1', 'down', 'a cannot reach it');
    await eventually(() => c!.clusterHealth('api', 'n1')?.verdict === 'down', 2000);
    b!.reportHealth('api', 'n1', 'down', 'b cannot either');
    await eventually(() => c!.clusterHealth('api', 'n1')?.downVotes.length === 2, 4000);
    t.deepEqual(c!.clusterHealth('api', 'n1')?.downVotes, [a!.instanceId, b!.instanceId].sort());
    a!.reportHealth('api', 'n1', 'up', 'a reaches it again');
    await eventually(() => c!.clusterHealth('api', 'n1')?.downVotes.length === 1, 4000);
    t.deepEqual(c!.clusterHealth('api', 'n1')?.downVotes, [b!.instanceId]);
    t.is(c!.clusterHealth('api', 'n1')?.verdict, 'down');
  });

  test(`${name}: the latest drain or enable wins on every instance, whoever made it`, async (t) => {
    const [a, b] = await cluster(t, 2, {});
    const seenByA = record(a!);
    t.is(await a!.setDrain('api', 'n1', true), 'cluster');
    t.is(await b!.setDrain('api', 'n1', false), 'cluster');
    t.is(await a!.setDrain('api', 'n1', true), 'cluster');
    await eventually(() => b!.drained('api', 'n1'), 2000);
    t.true(a!.drained('api', 'n1'));
    t.true(
      seenByA.some((c) => c.type === 'drain' && !c.draining && c.by === b!.instanceId),
      'the enable was announced with who made it',
    );
  });

  test(`${name}: a drain on one instance applies on every instance, and so does enabling`, async (t) => {
    const [a, b] = await cluster(t, 2, {});
    const seenByB = record(b!);
    await a!.setDrain('api', 'n1', true);
    t.true(a!.drained('api', 'n1'));
    await eventually(() => b!.drained('api', 'n1'), 2000);
    t.true(seenByB.some((c) => c.type === 'drain' && c.node === 'n1' && c.draining && c.by === a!.instanceId));
    await b!.setDrain('api', 'n1', false);
    await eventually(() => !a!.drained('api', 'n1'), 2000);
  });

  test(`${name}: an instance hears its own drain once, and never inside the call that made it`, async (t) => {
    const [a] = await cluster(t, 1, {});
    const heard = record(a!);
    const call = a!.setDrain('api', 'n1', true);
    t.deepEqual(heard, [], "no listener runs inside the caller's write");
    t.is(await call, 'cluster');
    await eventually(() => heard.some((c) => c.type === 'drain' && c.node === 'n1'), 2000);
    // Evidence that everything about n1 has arrived: a later change, heard after it.
    await a!.setDrain('api', 'n2', true);
    await eventually(() => heard.some((c) => c.type === 'drain' && c.node === 'n2'), 2000);
    t.is(heard.filter((c) => c.type === 'drain' && c.node === 'n1').length, 1);
  });

  test(`${name}: a drain made while the store is not connected is kept ('pending', applied here) and sent when it connects`, async (t) => {
    const stores = await cluster(t, 1, {});
    const a = stores[0]!;
    const late = stores.another('late');
    t.teardown(() => late.stop());
    t.false(late.connected, 'not started: not connected');
    t.is(await late.setDrain('api', 'n1', true), 'pending', 'resolves, never rejects');
    t.true(late.drained('api', 'n1'), 'applied on this instance at once');
    await late.start();
    await eventually(() => a.drained('api', 'n1'), 5000);
    t.true(late.drained('api', 'n1'));
  });

  test(`${name}: an instance hears its own failover and its own verdict once, never inside the call`, async (t) => {
    const [a] = await cluster(t, 1, {});
    const heard = record(a!);
    const proposal = a!.propose('db', { expectedEpoch: 0, to: 'primary', reason: 'initial' });
    a!.reportHealth('api', 'n1', 'down', 'refused');
    t.deepEqual(heard, [], "no listener runs inside the caller's write");
    t.like(await proposal, { epoch: 1 });
    await eventually(() => heard.some((c) => c.type === 'active' && c.state.epoch === 1), 2000);
    await eventually(() => heard.some((c) => c.type === 'health' && c.health.verdict === 'down'), 2000);
    // Evidence that everything about both has arrived: later changes, heard after them.
    await a!.propose('db', { expectedEpoch: 1, to: 'standby', reason: 'next' });
    a!.reportHealth('api', 'n2', 'down', 'refused');
    await eventually(() => heard.some((c) => c.type === 'active' && c.state.epoch === 2), 2000);
    await eventually(() => heard.some((c) => c.type === 'health' && c.node === 'n2'), 2000);
    t.is(heard.filter((c) => c.type === 'active' && c.state.epoch === 1).length, 1);
    t.is(heard.filter((c) => c.type === 'health' && c.node === 'n1' && c.health.verdict === 'down').length, 1);
  });
}
