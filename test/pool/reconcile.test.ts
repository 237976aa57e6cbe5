import test from 'ava';
import { planReload } from '../../src/pool/reconcile.ts';
import { settingsFor } from '../helpers/settings.ts';

// A reload's plan, as a pure function of the pool settings before and after.

const pools = (raw: Record<string, unknown>) =>
  settingsFor({
    listen: { port: 0 },
    pools: raw,
    routes: Object.keys(raw).map((name) => ({ path: `/${name}`, pool: name })),
  }).pools;

const web = { policy: 'round-robin', health: false, nodes: [{ id: 'a', url: 'http://127.0.0.1:9' }] };

const cases: Array<[string, Record<string, unknown>, Record<string, unknown>, ReturnType<typeof planReload>]> = [
  ['the same settings: unchanged', { web }, { web }, { added: [], removed: [], changed: [], unchanged: ['web'] }],
  ['a new pool: added', { web }, { web, api: web }, { added: ['api'], removed: [], changed: [], unchanged: ['web'] }],
  [
    'a pool gone: removed',
    { web, api: web },
    { web },
    { added: [], removed: ['api'], changed: [], unchanged: ['web'] },
  ],
  [
    'another node URL: changed',
    { web },
    { web: { ...web, nodes: [{ id: 'a', url: 'http://127.0.0.1:10' }] } },
    { added: [], removed: [], changed: ['web'], unchanged: [] },
  ],
  [
    'another policy: changed',
    { web: { ...web, policy: 'least-connections' } },
    { web: { ...web, policy: 'round-robin' } },
    { added: [], removed: [], changed: ['web'], unchanged: [] },
  ],
];

for (const [title, before, after, plan] of cases) {
  test(title, (t) => {
    t.deepEqual(planReload(pools(before), pools(after)), plan);
  });
}
