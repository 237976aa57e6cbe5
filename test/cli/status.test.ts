import test from 'ava';
import hotStandby from '../../plugins/hot-standby.ts';
import { renderStatus } from '../../src/commands/status.ts';
import { startGateway } from '../helpers/gateway.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { eventually } from '../helpers/http.ts';
import { batonBin, run } from '../helpers/process.ts';

test('baton status prints the cluster view as a table, from the admin API', async (t) => {
  const a = await startUpstream('a');
  const b = await startUpstream('b');
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const { adminUrl, gateway } = await startGateway(t, {
    admin: { port: 0, token: 'status-token-1', tokenForReads: true },
    pools: {
      web: {
        policy: 'round-robin',
        nodes: [
          { url: a.url, id: 'web-a' },
          { url: b.url, id: 'web-b', weight: 3 },
        ],
        health: false,
      },
      db: {
        policy: hotStandby(),
        nodes: [
          { url: a.url, id: 'primary' },
          { url: b.url, id: 'standby', tier: 1 },
        ],
        health: false,
      },
    },
    routes: [{ path: '/', pool: 'web' }],
  });
  await eventually(() => gateway.status().pools.db!.active === 'primary', 2000);
  const denied = await run(process.execPath, [batonBin, 'status', '--admin', adminUrl]);
  t.is(denied.code, 1);
  t.regex(denied.stderr, /401/);
  const result = await run(process.execPath, [batonBin, 'status', '--admin', adminUrl, '--token', 'status-token-1']);
  t.is(result.code, 0, result.stderr);
  const lines = result.stdout.split('\n');
  t.regex(lines[0]!, /^instance \S+ +store memory \(connected\)/);
  t.true(lines.some((l) => /^pool web \(round-robin\)$/.test(l)));
  t.true(lines.some((l) => /^pool db \(hot-standby\) +active primary +epoch 1$/.test(l)));
  t.true(
    lines.some((l) => /^\* primary +0 +1 +unknown/.test(l)),
    'the active node is starred',
  );
  t.true(lines.some((l) => /^ {2}web-b +0 +3 +unknown +unknown +unknown +closed +0/.test(l)));
  const json = await run(process.execPath, [
    batonBin,
    'status',
    '--admin',
    adminUrl,
    '--token',
    'status-token-1',
    '--json',
  ]);
  t.is(JSON.parse(json.stdout).pools.db.epoch, 1);
});

test('baton status when the admin API cannot be reached: a clear message and exit 1', async (t) => {
  const result = await run(process.execPath, [batonBin, 'status', '--admin', 'http://127.0.0.1:1']);
  t.is(result.code, 1);
  t.regex(result.stderr, /cannot reach the admin API at http:\/\/127\.0\.0\.1:1/);
});

test('renderStatus: columns line up, draining and disconnected stores are visible', (t) => {
  const lines = renderStatus({
    instance: 'gw-1',
    store: 'redis',
    storeConnected: false,
    instances: [
      { id: 'gw-1', startedAt: 0, lastSeen: 0, self: true },
      { id: 'gw-2', startedAt: 0, lastSeen: 0, self: false },
    ],
    certificates: [],
    pools: {
      api: {
        policy: 'least-connections',
        active: null,
        epoch: null,
        activeSince: null,
        pinned: false,
        flips: 0,
        failbackAt: null,
        hedge: null,
        nodes: [
          {
            id: 'n1',
            url: 'http://n1/',
            tier: 0,
            weight: 1,
            standby: null,
            health: 'up',
            local: 'up',
            cluster: 'up',
            breaker: 'closed',
            inflight: 12,
            draining: true,
            usable: false,
            upSince: 1,
            ejectedUntil: null,
            suspected: false,
            downVotes: [],
          },
          {
            id: 'node-two',
            url: 'http://n2/',
            tier: 1,
            weight: 10,
            standby: null,
            health: 'down',
            local: 'up',
            cluster: 'down',
            breaker: 'open',
            inflight: 0,
            draining: false,
            usable: false,
            upSince: null,
            ejectedUntil: null,
            suspected: false,
            downVotes: ['gw-2'],
          },
        ],
      },
    },
  });
  t.is(lines[0], 'instance gw-1   store redis (DISCONNECTED)');
  t.is(lines[1], 'instances gw-1 (this), gw-2');
  const header = lines.indexOf('pool api (least-connections)') + 1;
  t.is(lines[header + 1]!.indexOf('up'), lines[header]!.indexOf('HEALTH'), 'values under their header');
  t.regex(lines[header + 1]!, /draining$/);
  t.regex(lines[header + 2]!, /^ {2}node-two +1 +10 +down +up +down +open +0$/);
});
