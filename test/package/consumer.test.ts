import test from 'ava';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { request } from '../helpers/http.ts';
import { repoRoot } from '../helpers/process.ts';
import { startUpstream } from '../helpers/upstream.ts';

// Baton as a user gets it: `npm pack` (which builds dist/), the tarball installed into an
// empty project outside the repository, and that project's plugin, config and plugin test
// (test/package/consumer/) checked with plain strict tsc, run with plain node, and served by
// `npx baton`. Steps run in order and share the project; each one fails on its own.

const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};
const project = mkdtempSync(join(tmpdir(), 'baton-consumer-'));
test.after.always(() => rmSync(project, { recursive: true, force: true }));

/** What a shell outside the repository would have: no npm_* variables from `npm test`, no repo bins on PATH. */
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) && name !== 'NODE_OPTIONS'),
);
env.PATH = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((dir) => !dir.startsWith(repoRoot))
  .join(delimiter);

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  /** stdout and stderr, for failure messages. */
  readonly output: string;
}

function sh(command: string, args: string[], cwd: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...env, ...extraEnv } });
    let stdout = '';
    let output = '';
    child.stdout.on('data', (data) => {
      stdout += data;
      output += data;
    });
    child.stderr.on('data', (data) => (output += data));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, output }));
  });
}

let tarball: string | undefined;
let installed = false;

test.serial('npm pack builds dist/ and packs the compiled package and nothing else', async (t) => {
  t.timeout(180_000);
  const packed = await sh('npm', ['pack', '--json', '--pack-destination', project], repoRoot);
  t.is(packed.code, 0, packed.output);
  // With --json, stdout is the JSON document; the build's output goes to stderr.
  const [report] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
  const files = report.files.map((file) => file.path);
  for (const expected of [
    'package.json',
    'README.md',
    'bin/baton.js',
    'dist/src/cli.js',
    'dist/src/index.d.ts',
    'dist/src/policies.d.ts',
    'dist/src/testing/index.d.ts',
    'dist/src/admin/dashboard.html',
    'dist/src/admin/dashboard-traffic.css',
    'dist/src/admin/dashboard-traffic.js',
    'dist/plugins/hot-standby.js',
  ]) {
    t.true(files.includes(expected), expected);
  }
  const stray = files.filter(
    (path) =>
      !/^(package\.json|README\.md|LICENSE|bin\/baton\.js|dist\/(src|plugins)\/.+\.(js|d\.ts|html|css))$/.test(path),
  );
  t.deepEqual(
    stray,
    [],
    'only the compiled package: no tests, benchmarks, Docker files, examples or TypeScript sources',
  );
  tarball = join(project, report.filename);
});

test.serial(
  'installed into an empty project, it typechecks with strict tsc and its plugin test runs on plain node',
  async (t) => {
    t.timeout(180_000);
    if (!tarball) return t.fail('needs the tarball from the step before');
    cpSync(join(repoRoot, 'test/package/consumer'), project, { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    const versions = ['typescript', '@types/node'].map((name) => `${name}@${manifest.devDependencies[name]}`);
    const install = await sh(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, ...versions],
      project,
    );
    t.is(install.code, 0, install.output);
    installed = true;

    const typecheck = await sh('npx', ['--no', '--', 'tsc', '-p', 'tsconfig.json'], project);
    t.is(typecheck.code, 0, typecheck.output);
    const unitTest = await sh(
      process.execPath,
      ['--test', '--test-reporter=tap', 'build/plugins/prefer-last.spec.js'],
      project,
    );
    t.is(unitTest.code, 0, unitTest.output);
    t.regex(unitTest.output, /# pass 1\b/);
  },
);

test.serial('npx baton check and npx baton start: the TypeScript plugin loads and a request is proxied', async (t) => {
  t.timeout(90_000);
  if (!installed) return t.fail('needs the project installed by the step before');
  const [a, b] = await Promise.all([startUpstream('a'), startUpstream('b')]);
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const upstreams = { UPSTREAM_A: a.url, UPSTREAM_B: b.url };

  const check = await sh('npx', ['--no', 'baton', 'check', '--config', 'gateway.config.ts'], project, upstreams);
  t.is(check.code, 0, check.output);
  t.regex(check.output, /OK \(2 pools, 4 nodes, 2 routes\)/);

  // Its own process group: npx does not pass SIGTERM on, so the group gets it, as from a shell.
  const gateway = spawn('npx', ['--no', 'baton', 'start', '--config', 'gateway.config.ts'], {
    cwd: project,
    env: { ...env, ...upstreams },
    detached: true,
  });
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-gateway.pid!, signal);
    } catch {
      // already gone
    }
  };
  t.teardown(() => signalGroup('SIGKILL'));
  let output = '';
  gateway.stdout.on('data', (data) => (output += data));
  gateway.stderr.on('data', (data) => (output += data));
  // Ready once it printed where it listens and its pools (the last lines of the start).
  const url = await new Promise<string>((resolve, reject) => {
    gateway.stdout.on('data', () => {
      const found = /Baton listening on (http:\/\/\S+)\n[\s\S]*pool pinned \(prefer-last\): a, b\n/.exec(output);
      if (found) resolve(found[1]!);
    });
    gateway.once('exit', () => reject(new Error(`baton start exited:\n${output}`)));
  });

  const web = [await request(`${url}/hello`), await request(`${url}/hello`)];
  t.deepEqual(
    web.map((reply) => reply.status),
    [200, 200],
    web.map((reply) => reply.body).join('\n'),
  );
  t.deepEqual(
    web.map((reply) => reply.json<{ node: string }>().node).sort(),
    ['a', 'b'],
    'round-robin from baton/policies',
  );
  t.is(web[0]!.headers['x-consumer-plugin'], 'web /hello', "the plugin's middleware ran");
  for (let i = 0; i < 3; i++)
    t.is((await request(`${url}/pinned/x`)).json<{ node: string }>().node, 'b', 'the consumer policy picks');
  const denied = await request(`${url}/hello`, { headers: { 'x-deny': 'yes' } });
  t.is(denied.status, 403);
  t.deepEqual(denied.json(), { denied: 'web' });

  // 'close': every process that holds the output pipes (npx, its shell, baton) has exited.
  const closed = new Promise((resolve) => gateway.once('close', resolve));
  signalGroup('SIGTERM');
  await closed;
  t.regex(output, /SIGTERM, draining in-flight requests/);
});
