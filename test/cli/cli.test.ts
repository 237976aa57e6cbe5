import test from 'ava';
import { startUpstream } from '../helpers/upstream.ts';
import { request } from '../helpers/http.ts';
import { batonBin, indexUrl, launch, run, tempDir, writeFile } from '../helpers/process.ts';

const config = (upstream: string, extra = '') => `
import { defineConfig } from '${indexUrl}';
export default defineConfig(({ env }) => ({
  listen: { host: '127.0.0.1', port: 0 },
  admin: { port: 0 },
  log: { level: 'warn' },
  pools: { web: { policy: 'round-robin', nodes: [{ url: '${upstream}', id: env.NODE_ID ?? 'web-1' }], health: false } },
  routes: [{ path: '/', pool: 'web' }],
  ${extra}
}));
`;

test('baton check: a good config passes with exit code 0', async (t) => {
  const dir = tempDir(t);
  const file = writeFile(dir, 'gateway.config.ts', config('http://127.0.0.1:9'));
  const result = await run(process.execPath, [batonBin, 'check', '--config', file]);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /OK \(1 pools, 1 nodes, 1 routes\)/);
});

test('baton check: every problem on its own line with its path, exit code 1', async (t) => {
  const dir = tempDir(t);
  const file = writeFile(
    dir,
    'gateway.config.ts',
    `export default {
      listen: { port: 8080 },
      pools: { api: { policy: 'nope', nodes: [{ url: 'http://a:1' }, { url: 'bad' }], retires: 1 } },
      routes: [{ path: '/', pool: 'apii' }],
    };`,
  );
  const result = await run(process.execPath, [batonBin, 'check', '--config', file]);
  t.is(result.code, 1);
  t.deepEqual(
    result.stderr.trim().split('\n').sort(),
    [
      'pools.api.nodes[1].url: invalid URL "bad"',
      'pools.api.retires: unknown key',
      "routes[0].pool: unknown pool 'apii' (pools: api)",
    ].sort(),
  );
});

test('baton check: a missing file or a syntax error is reported, exit code 1', async (t) => {
  const dir = tempDir(t);
  const missing = await run(process.execPath, [batonBin, 'check', '--config', `${dir}/nope.ts`]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /config file not found/);
  const broken = writeFile(dir, 'broken.config.ts', 'export default {{');
  const syntax = await run(process.execPath, [batonBin, 'check', '--config', broken]);
  t.is(syntax.code, 1);
  t.regex(syntax.stderr, /cannot load .*broken\.config\.ts/);
});

test('baton start: serves traffic from the config, SIGTERM drains and exits 0', async (t) => {
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const dir = tempDir(t);
  const file = writeFile(dir, 'gateway.config.ts', config(up.url));
  const gateway = launch(t, process.execPath, [batonBin, 'start', '--config', file], { env: { NODE_ID: 'from-env' } });
  const [, url] = await gateway.waitFor(/Baton listening on (http:\/\/\S+)/);
  await gateway.waitFor(/pool web \(round-robin\): from-env/);
  const reply = await request(`${url}/hello`);
  t.is(reply.status, 200);
  t.is(reply.json().node, 'up');
  gateway.child.kill('SIGTERM');
  const exit = await gateway.exited();
  t.is(exit.code, 0, gateway.output());
});

test('baton start: refuses an invalid config with the same messages as check', async (t) => {
  const dir = tempDir(t);
  const file = writeFile(dir, 'gateway.config.ts', config('not-a-url'));
  const result = await run(process.execPath, [batonBin, 'start', '--config', file]);
  t.is(result.code, 1);
  t.regex(result.stderr, /refusing to start/);
  t.regex(result.stderr, /pools\.web\.nodes\[0\]\.url: invalid URL "not-a-url"/);
});

test('unknown command or option: usage and exit code 1', async (t) => {
  const result = await run(process.execPath, [batonBin, 'launch']);
  t.is(result.code, 1);
  t.regex(result.stderr, /unknown command 'launch'/);
  const option = await run(process.execPath, [batonBin, 'check', '--confg', 'x']);
  t.is(option.code, 1);
});
