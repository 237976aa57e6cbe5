import test from 'ava';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { builtinPlugins } from '../../plugins/index.ts';
import { loadConfig } from '../../src/config/load.ts';
import { ConfigError, formatProblem } from '../../src/config/validate.ts';
import { indexUrl, tempDir, writeFile } from '../helpers/process.ts';

const policyFile = (name: string, options = '') => `
import { definePolicy, eligibleNodes, z } from '${indexUrl}';
export default definePolicy({
  name: '${name}',
  ${options}
  create: () => ({ pick: (pool, ctx) => eligibleNodes(pool, ctx)[0] }),
});`;

const pluginFile = (name: string, policy: string) => `
import { definePlugin, definePolicy, eligibleNodes } from '${indexUrl}';
export default definePlugin({
  name: '${name}',
  policies: [definePolicy({ name: '${policy}', create: () => ({ pick: (pool, ctx) => eligibleNodes(pool, ctx)[0] }) })],
  onEvent() {},
});`;

const config = (plugins: string[], policy: string) => `
export default {
  listen: { port: 8080 },
  plugins: ${JSON.stringify(plugins)},
  pools: { api: { policy: ${policy}, nodes: [{ url: 'http://127.0.0.1:9001' }] } },
  routes: [{ path: '/', pool: 'api' }],
};`;

async function problems(file: string): Promise<string[]> {
  try {
    await loadConfig(file, { builtins: builtinPlugins, env: {} });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map(formatProblem);
    throw error;
  }
}

test('a plugin file (relative to the config) and a policy-only file, referenced by name', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'policies'));
  writeFile(dir, 'policies/first.ts', pluginFile('my-plugin', 'first-usable'));
  writeFile(
    dir,
    'policies/sticky.ts',
    policyFile('sticky', 'options: z.strictObject({ seed: z.number().default(1) }),'),
  );
  const file = writeFile(
    dir,
    'gateway.config.ts',
    config(['./policies/first.ts', './policies/sticky.ts'], "'first-usable'"),
  );
  const settings = await loadConfig(file, { builtins: builtinPlugins, env: {} });
  t.is(settings.pools.get('api')!.policy.name, 'first-usable');
  t.true(settings.plugins.some((p) => p.name === 'my-plugin'));
  t.true(
    settings.plugins.some((p) => p.name === 'sticky'),
    'a lone policy becomes a plugin of its own name',
  );
});

test('a plain .js plugin file and a package from node_modules', async (t) => {
  const dir = tempDir(t);
  writeFile(
    dir,
    'local.mjs',
    `export default { name: 'js-plugin', policies: [{ name: 'js-policy', create: () => ({ pick: () => undefined }) }] };`,
  );
  mkdirSync(join(dir, 'node_modules/baton-policy-pkg'), { recursive: true });
  writeFile(
    dir,
    'node_modules/baton-policy-pkg/package.json',
    JSON.stringify({ name: 'baton-policy-pkg', type: 'module', exports: './index.js' }),
  );
  writeFile(
    dir,
    'node_modules/baton-policy-pkg/index.js',
    `export default { name: 'pkg-policy', create: () => ({ pick: () => undefined }) };`,
  );
  const file = writeFile(dir, 'gateway.config.ts', config(['./local.mjs', 'baton-policy-pkg'], "'pkg-policy'"));
  const settings = await loadConfig(file, { builtins: builtinPlugins, env: {} });
  t.is(settings.pools.get('api')!.policy.name, 'pkg-policy');
});

const bad: Array<[name: string, files: Record<string, string>, plugins: string[], policy: string, expected: RegExp[]]> =
  [
    ['file not found', {}, ['./missing.ts'], "'round-robin'", [/^plugins\[0\]: plugin file not found: .*missing\.ts$/]],
    [
      'package not installed',
      {},
      ['no-such-baton-plugin'],
      "'round-robin'",
      [/^plugins\[0\]: cannot load plugin package 'no-such-baton-plugin'/],
    ],
    [
      'no default export',
      { 'named.ts': 'export const plugin = {};' },
      ['./named.ts'],
      "'round-robin'",
      [/^plugins\[0\]: \.\/named\.ts has no default export$/],
    ],
    [
      'not a plugin',
      { 'wrong.ts': 'export default { hello: 1 };' },
      ['./wrong.ts'],
      "'round-robin'",
      [/^plugins\[0\]: \.\/wrong\.ts is not a plugin/],
    ],
    [
      'duplicate policy name across plugins',
      { 'a.ts': policyFile('twin'), 'b.ts': pluginFile('b-plugin', 'twin') },
      ['./a.ts', './b.ts'],
      "'twin'",
      [/^plugins\[1\]: duplicate policy name 'twin' \(plugin 'b-plugin'\)$/],
    ],
    [
      'shadowing a built-in policy',
      { 'rr.ts': policyFile('round-robin') },
      ['./rr.ts'],
      "'round-robin'",
      [/^plugins\[0\]: duplicate plugin name 'round-robin'|^plugins\[0\]: duplicate policy name 'round-robin'/],
    ],
    [
      'unknown policy name lists the known ones, plugins included',
      { 'p.ts': policyFile('mine') },
      ['./p.ts'],
      "'yours'",
      [/^pools\.api\.policy: unknown policy 'yours' \(known: .*mine.*round-robin.*\)$/],
    ],
    [
      'plugin options are validated at their path',
      { 'p.ts': policyFile('tunable', 'options: z.strictObject({ factor: z.number().max(10) }),') },
      ['./p.ts'],
      "{ name: 'tunable', factor: 99, extra: true }",
      [/^pools\.api\.policy\.factor: Too big/, /^pools\.api\.policy\.extra: unknown key$/],
    ],
  ];

for (const [name, files, plugins, policy, expected] of bad) {
  test(`refused: ${name}`, async (t) => {
    const dir = tempDir(t);
    for (const [path, text] of Object.entries(files)) writeFile(dir, path, text);
    const found = await problems(writeFile(dir, 'gateway.config.ts', config(plugins, policy)));
    t.is(found.length, expected.length, found.join('\n'));
    for (const pattern of expected)
      t.true(
        found.some((line) => pattern.test(line)),
        `${pattern} in:\n${found.join('\n')}`,
      );
  });
}
