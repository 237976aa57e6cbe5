import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { builtinPlugins } from '../../plugins/index.ts';
import { loadConfig } from '../../src/config/load.ts';
import { repoRoot } from '../helpers/process.ts';

// No Docker engine runs on our machines: this checks the compose file and the Dockerfile
// against the repository instead, so that they cannot drift apart unnoticed.

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: string[];
}

const compose = parse(readFileSync(join(repoRoot, 'docker/compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;
const dockerfile = readFileSync(join(repoRoot, 'docker/Dockerfile'), 'utf8');
const gateways = Object.entries(services).filter(([name]) => name.startsWith('gateway-'));

/** Compose-style ${VAR:-default} interpolation, with nothing set in the environment. */
const interpolate = (value: string) => value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
const optionAfter = (args: string[] = [], flag: string) => args[args.indexOf(flag) + 1];

/** Services that run a published image rather than the Baton image built here. */
const images: Record<string, RegExp> = {
  redis: /^redis:/,
  prometheus: /^prom\/prometheus:v\d/,
  grafana: /^grafana\/grafana:\d/,
};

test('the topology: Redis, two gateways sharing it, a primary and a standby upstream, Prometheus and Grafana', (t) => {
  t.deepEqual(Object.keys(services).sort(), [
    'gateway-a',
    'gateway-b',
    'grafana',
    'primary',
    'prometheus',
    'redis',
    'standby',
  ]);
  for (const [name, service] of Object.entries(services)) {
    for (const dependency of service.depends_on ?? [])
      t.truthy(services[dependency], `${name} depends on ${dependency}`);
    if (images[name]) {
      t.regex(service.image!, images[name]!, name);
      t.is(service.build, undefined, name);
      continue;
    }
    t.deepEqual(service.build, { context: '..', dockerfile: 'docker/Dockerfile' }, name);
    t.true(existsSync(join(repoRoot, 'docker', service.build!.context, service.build!.dockerfile)), name);
  }
});

test('the Dockerfile: multi-stage, copies what exists, non-root, health check, SIGTERM', (t) => {
  t.true((dockerfile.match(/^FROM /gm) ?? []).length >= 2, 'multi-stage');
  const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
  t.true(copies.length > 0);
  for (const source of copies) t.true(existsSync(join(repoRoot, source)), `COPY ${source}`);
  t.regex(dockerfile, /^USER node$/m);
  t.regex(dockerfile, /^HEALTHCHECK .*\n?.*127\.0\.0\.1:9901\/healthz/m);
  t.regex(dockerfile, /^STOPSIGNAL SIGTERM$/m);
  const entrypoint = JSON.parse(/^ENTRYPOINT (.+)$/m.exec(dockerfile)![1]!) as string[];
  t.true(existsSync(join(repoRoot, entrypoint[1]!)), 'the entrypoint script');
  const cmd = JSON.parse(/^CMD (.+)$/m.exec(dockerfile)![1]!) as string[];
  t.true(
    copies.some((source) => source === optionAfter(cmd, '--config')),
    'the default config is copied into the image',
  );
});

test('the image runs the compiled gateway: dist/ built in a build stage, no TypeScript sources at run time', (t) => {
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const build = stages.find((stage) => /^\S+ AS build$/m.test(stage));
  t.truthy(build, 'a stage named build');
  t.regex(build!, /^RUN npm run build$/m);
  // What the build reads: the tsconfigs, the build script and every folder the build compiles.
  const buildConfig = JSON.parse(
    readFileSync(join(repoRoot, 'tsconfig.build.json'), 'utf8').replace(/^\s*\/\/.*$/gm, ''),
  ) as { include: string[] };
  for (const source of ['tsconfig.json', 'tsconfig.build.json', 'scripts', ...buildConfig.include])
    t.regex(build!, new RegExp(`^COPY (.+ )?${source} `, 'm'), source);
  const runtime = stages.at(-1)!;
  t.regex(runtime, /^COPY --from=build \/app\/dist \.\/dist$/m);
  t.notRegex(runtime, /^COPY (src|plugins) /m);
  t.regex(
    readFileSync(join(repoRoot, 'bin/baton.js'), 'utf8'),
    /import\('\.\.\/dist\/src\/cli\.js'\)/,
    'the entrypoint runs dist/',
  );
});

test('upstream services run the example upstream on the ports the gateways use', (t) => {
  for (const name of ['primary', 'standby']) {
    const service = services[name]!;
    t.true(existsSync(join(repoRoot, service.entrypoint!.at(-1)!)), `${name} entrypoint`);
    t.is(optionAfter(service.command, '--name'), name);
    for (const [, gateway] of gateways) {
      const url = new URL(gateway.environment![`${name.toUpperCase()}_URL`]!);
      t.is(url.hostname, name);
      t.is(url.port, optionAfter(service.command, '--port')!);
    }
  }
});

for (const [name, service] of gateways) {
  test(`${name}: its config loads and validates with its environment; ports and Redis line up`, async (t) => {
    const config = optionAfter(service.command, '--config')!;
    t.true(dockerfile.includes(`COPY ${config} `), 'the config it runs is copied into the image');
    const env = Object.fromEntries(Object.entries(service.environment!).map(([k, v]) => [k, interpolate(String(v))]));
    const settings = await loadConfig(join(repoRoot, config), { builtins: builtinPlugins, env });
    t.is(settings.cluster.instanceId, env.INSTANCE_ID!);
    t.is(new URL(settings.cluster.redis as string).hostname, 'redis');
    const published = service.ports!.map((p) => p.split(':').map(Number) as [number, number]);
    const containerPorts = published.map(([, inner]) => inner).sort();
    t.deepEqual(containerPorts, [settings.listeners[0]!.port, settings.admin ? settings.admin.port : -1].sort());
    t.is(
      settings.admin ? settings.admin.host : undefined,
      '0.0.0.0',
      'the admin API is reachable through the published port',
    );
    t.true(env.BATON_ADMIN_TOKEN!.length >= 8, 'mutating admin calls need a token');
  });
}

test('the two gateways are distinct instances on distinct host ports', (t) => {
  const ids = gateways.map(([, s]) => s.environment!.INSTANCE_ID);
  t.is(new Set(ids).size, ids.length);
  const hostPorts = gateways.flatMap(([, s]) => s.ports!.map((p) => p.split(':')[0]));
  t.is(new Set(hostPorts).size, hostPorts.length);
});
