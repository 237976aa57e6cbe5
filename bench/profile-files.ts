/**
 * Where a checkout's CPU goes per request: a V8 CPU profile (100 µs samples) of Baton run from
 * that checkout's sources behind two tiny upstreams, `requests` small GETs on 4 keep-alive
 * connections, then self time per source file per request (node internals and packages by
 * module). With FUNCS=1 also per function of the checkout's own files (tsx's `__name` helper
 * shows up there as the function `__name`: a named closure made on the request path).
 * Wall-clock samples: compare two checkouts in back-to-back runs and repeat; for a steadier
 * count use bench/instructions.ts.
 *
 *   FUNCS=1 node --import tsx bench/profile-files.ts <checkout-dir> [requests=20000]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const checkout = process.argv[2]!;
const requests = Number(process.argv[3] ?? 20000);
const ups = [0, 1].map(() =>
  http.createServer((_q, s) => {
    s.writeHead(200, { 'content-length': 18 });
    s.end('{"hello":"world"}\n');
  }),
);
const ports = await Promise.all(
  ups.map((u) => new Promise<number>((r) => u.listen(0, '127.0.0.1', () => r((u.address() as any).port)))),
);
const dir = mkdtempSync(join(tmpdir(), 'prof-'));
const config = join(dir, 'g.config.ts');
writeFileSync(
  config,
  `import { defineConfig } from '${pathToFileURL(join(checkout, 'src/index.ts')).href}';
export default defineConfig({ listen: { host: '127.0.0.1', port: 0 }, admin: false, log: { level: 'warn', access: false },
  pools: { hello: { policy: 'round-robin', nodes: [{ url: 'http://127.0.0.1:${ports[0]}' }, { url: 'http://127.0.0.1:${ports[1]}' }] } },
  routes: [{ path: '/', pool: 'hello' }] });`,
);
const child = spawn(
  process.execPath,
  [
    '--cpu-prof',
    '--cpu-prof-interval',
    '100',
    '--cpu-prof-dir',
    dir,
    '--conditions=baton-source',
    '--import',
    'tsx',
    join(checkout, 'src/cli.ts'),
    'start',
    '--config',
    config,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const url = await new Promise<string>((resolve) => {
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
    const m = /Baton listening on (http:\/\/\S+)/.exec(out);
    if (m) resolve(m[1]!);
  });
});
async function send(n: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next++ < n)
        await new Promise<void>((r, j) =>
          http
            .get(`${url}/`, { agent }, (res) => {
              res.resume();
              res.on('end', () => r());
            })
            .on('error', j),
        );
    }),
  );
  agent.destroy();
}
await send(requests);
const exited = new Promise((r) => child.once('exit', r));
child.kill('SIGTERM');
await exited;
for (const u of ups) u.close();
const profile = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!), 'utf8'));
const byId = new Map(profile.nodes.map((n: any) => [n.id, n]));
const perFile = new Map<string, number>();
let busy = 0;
const root = pathToFileURL(checkout).href;
for (const id of profile.samples) {
  const frame = (byId.get(id) as any).callFrame;
  if (frame.functionName === '(idle)' || frame.functionName === '(program)') continue;
  busy += 1;
  const key = frame.url.startsWith(root)
    ? frame.url.slice(root.length).replace(/^\//, '')
    : frame.url.includes('node_modules')
      ? frame.url.replace(/.*node_modules\//, 'nm:').split('/')[0]
      : (frame.url || frame.functionName).replace(/^node:/, 'node:');
  perFile.set(key, (perFile.get(key) ?? 0) + 1);
}
console.log(
  `busy samples ${busy} (100us each) over ${requests} requests: ${((busy * 100) / requests).toFixed(1)} us/request`,
);
for (const [k, v] of [...perFile].sort((a, b) => b[1] - a[1]).slice(0, 45))
  console.log(`${((v * 100) / requests).toFixed(2).padStart(7)} us/req  ${k}`);
if (process.env.FUNCS) {
  const perFn = new Map<string, number>();
  for (const id of profile.samples) {
    const frame = (byId.get(id) as any).callFrame;
    if (!frame.url.startsWith(root)) continue;
    const key = `${frame.url.slice(root.length)}:${frame.lineNumber + 1} ${frame.functionName}`;
    perFn.set(key, (perFn.get(key) ?? 0) + 1);
  }
  for (const [k, v] of [...perFn].sort((a, b) => b[1] - a[1]).slice(0, 40))
    console.log(`${((v * 100) / requests).toFixed(2).padStart(7)} us/req  ${k}`);
}
