import { availableParallelism } from 'node:os';
import test from 'ava';
import { makePki, type Issued, type TestPki } from '../helpers/certificates.ts';
import { problemsFor, settingsFor } from '../helpers/settings.ts';

const base = () => ({
  listen: { port: 8080 },
  pools: {
    api: { policy: 'round-robin', nodes: [{ url: 'http://127.0.0.1:9001' }, { url: 'http://127.0.0.1:9002' }] },
  },
  routes: [{ path: '/api', pool: 'api' }],
});

test('a minimal config gets every default filled in', (t) => {
  const settings = settingsFor(base());
  const pool = settings.pools.get('api')!;
  t.deepEqual(
    pool.nodes.map((n) => n.id),
    ['127.0.0.1:9001', '127.0.0.1:9002'],
  );
  t.is(pool.policy.name, 'round-robin');
  t.like(pool.health, { path: '/', intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3 });
  t.like(pool.retry, { attempts: 3, nonIdempotent: false, bufferBody: 65536, waitForNodeMs: 0 });
  t.like(pool.timeouts, { connectMs: 2000, responseMs: 30000 });
  t.like(settings.admin, { host: '127.0.0.1', port: 9901, allowedHosts: [], maxEventStreams: 16 });
  t.like(settings.server, { sendTimeoutMs: 60_000 });
  t.is(settings.listeners[0]!.host, '0.0.0.0');
  t.like(settings.routes[0], { path: '/api', pool: 'api', stripPath: false, websocket: false });
  t.is(settings.server.escapedSlashes, 'keep');
});

const durationCases: Array<[unknown, number]> = [
  [250, 250],
  ['250ms', 250],
  ['5s', 5000],
  ['1m', 60000],
  ['1.5s', 1500],
];
for (const [input, ms] of durationCases) {
  test(`duration ${JSON.stringify(input)} is ${ms} ms`, (t) => {
    const config = base();
    (config.pools.api as Record<string, unknown>).timeouts = { response: input };
    t.is(settingsFor(config).pools.get('api')!.timeouts.responseMs, ms);
  });
}

test('sizes accept bytes and units', (t) => {
  const config = base();
  (config.pools.api as Record<string, unknown>).retry = { bufferBody: '1mb' };
  t.is(settingsFor(config).pools.get('api')!.retry.bufferBody, 1024 * 1024);
});

// [case, hedge as written, settings]
const hedgeCases: Array<[string, unknown, unknown]> = [
  ['on by default: learned delay, one hedge, 5 % budget', undefined, { after: 'auto', max: 1, budget: 0.05 }],
  ['false turns it off', false, false],
  ['a set delay', { after: '50ms' }, { after: 50, max: 1, budget: 0.05 }],
  [
    'a budget in percent, as a string or a number',
    { budget: '2.5%', max: 2 },
    { after: 'auto', max: 2, budget: 0.025 },
  ],
  ['a budget as a number of percent', { budget: 10 }, { after: 'auto', max: 1, budget: 0.1 }],
];
for (const [name, hedge, expected] of hedgeCases) {
  test(`hedge: ${name}`, (t) => {
    const config = base();
    if (hedge !== undefined) (config.pools.api as Record<string, unknown>).hedge = hedge;
    t.deepEqual(settingsFor(config).pools.get('api')!.hedge, expected);
  });
}

test('hedge: off by default for hot-standby (only the active node may take requests)', (t) => {
  const config = base();
  (config.pools.api as Record<string, unknown>).policy = 'hot-standby';
  t.is(settingsFor(config).pools.get('api')!.hedge, false);
});

test('health: false disables heartbeats; expect accepts classes and ranges', (t) => {
  const config = base();
  (config.pools.api as Record<string, unknown>).health = false;
  t.is(settingsFor(config).pools.get('api')!.health, false);
  (config.pools.api as Record<string, unknown>).health = { expect: ['2xx', '300-304', 418] };
  const health = settingsFor(config).pools.get('api')!.health;
  t.deepEqual(health ? health.expect : undefined, [
    { min: 200, max: 299 },
    { min: 300, max: 304 },
    { min: 418, max: 418 },
  ]);
});

type Case = { name: string; mutate: (c: any) => void; problems: string[] };
const invalid: Case[] = [
  {
    name: 'bad node URL',
    mutate: (c) => (c.pools.api.nodes[1].url = 'not a url'),
    problems: ['pools.api.nodes[1].url: invalid URL "not a url"'],
  },
  {
    name: 'unsupported protocol',
    mutate: (c) => (c.pools.api.nodes[0].url = 'ftp://x'),
    problems: ['pools.api.nodes[0].url: unsupported protocol ftp: (use http: or https:)'],
  },
  {
    name: 'unknown key (a typo is not ignored)',
    mutate: (c) => (c.pools.api.retires = { attempts: 2 }),
    problems: ['pools.api.retires: unknown key'],
  },
  {
    name: 'bad duration',
    mutate: (c) => (c.pools.api.timeouts = { connect: 'soon' }),
    problems: [`pools.api.timeouts.connect: invalid duration "soon" (use 250, '250ms', '5s' or '1m')`],
  },
  {
    name: 'bad server duration',
    mutate: (c) => (c.server = { sendTimeout: 'never' }),
    problems: [`server.sendTimeout: invalid duration "never" (use 250, '250ms', '5s' or '1m')`],
  },
  {
    name: 'bad size',
    mutate: (c) => (c.pools.api.retry = { bufferBody: 'big' }),
    problems: [`pools.api.retry.bufferBody: invalid size "big" (use 65536, '64kb' or '1mb')`],
  },
  {
    name: 'bad hedge budget',
    mutate: (c) => (c.pools.api.hedge = { budget: '150%' }),
    problems: [`pools.api.hedge.budget: invalid share "150%" (use '5%': more than 0, at most 100)`],
  },
  {
    name: 'bad hedge delay',
    mutate: (c) => (c.pools.api.hedge = { after: 'later' }),
    problems: [`pools.api.hedge.after: invalid delay "later" (use 'auto', 50, '50ms' or '1s')`],
  },
  {
    name: 'duplicate node ids',
    mutate: (c) => (c.pools.api.nodes[1].url = 'http://127.0.0.1:9001'),
    problems: [
      "pools.api.nodes[1].url: duplicate node id '127.0.0.1:9001' (also nodes[0]); give one of them an explicit id",
    ],
  },
  {
    name: 'duplicate explicit ids',
    mutate: (c) => {
      c.pools.api.nodes[0].id = 'a';
      c.pools.api.nodes[1].id = 'a';
    },
    problems: ["pools.api.nodes[1].id: duplicate node id 'a' (also nodes[0]); give one of them an explicit id"],
  },
  {
    name: 'route naming an unknown pool',
    mutate: (c) => (c.routes[0].pool = 'apii'),
    problems: ["routes[0].pool: unknown pool 'apii' (pools: api)"],
  },
  {
    name: 'unknown policy name',
    mutate: (c) => (c.pools.api.policy = 'fastest'),
    problems: [
      "pools.api.policy: unknown policy 'fastest' (known: consistent-hash, hot-standby, least-connections, p2c-ewma, random, round-robin, weighted-round-robin)",
    ],
  },
  {
    name: 'unknown policy name in the object form',
    mutate: (c) => (c.pools.api.policy = { name: 'fastest' }),
    problems: [
      "pools.api.policy.name: unknown policy 'fastest' (known: consistent-hash, hot-standby, least-connections, p2c-ewma, random, round-robin, weighted-round-robin)",
    ],
  },
  {
    name: 'options for a policy that takes none',
    mutate: (c) => (c.pools.api.policy = { name: 'round-robin', spread: 2 }),
    problems: ["pools.api.policy: policy 'round-robin' takes no options"],
  },
  {
    name: 'a pool without nodes',
    mutate: (c) => (c.pools.api.nodes = []),
    problems: ['pools.api.nodes: a pool needs at least one node'],
  },
  {
    name: 'weight out of range',
    mutate: (c) => (c.pools.api.nodes[0].weight = 0),
    problems: ['pools.api.nodes[0].weight: Too small: expected number to be >=1'],
  },
  {
    name: 'route path without a slash',
    mutate: (c) => (c.routes[0].path = 'api'),
    problems: ["routes[0].path: expected a path starting with '/' (no query or spaces)"],
  },
  {
    name: 'route path that requests can never have (not canonical)',
    mutate: (c) => (c.routes[0].path = '/a/../%61pi;x'),
    problems: [
      "routes[0].path: expected a canonical path: no '//', dot segments, backslashes, ';', %2F or %5C, and unreserved characters unescaped",
    ],
  },
  {
    name: 'admin.allowedHosts with a port or a URL',
    mutate: (c) => (c.admin = { port: 9901, allowedHosts: ['admin.internal', 'gw:9901', 'http://x'] }),
    problems: [
      "admin.allowedHosts[1]: expected a host name or IP address without a port, such as 'admin.internal' or '[::1]'",
      "admin.allowedHosts[2]: expected a host name or IP address without a port, such as 'admin.internal' or '[::1]'",
    ],
  },
  {
    name: 'unknown escapedSlashes action',
    mutate: (c) => (c.server = { escapedSlashes: 'ignore' }),
    problems: ["server.escapedSlashes: expected 'keep', 'decode' or 'reject'"],
  },
  {
    name: 'bad host pattern',
    mutate: (c) => (c.routes[0].host = 'a..b'),
    problems: ["routes[0].host: expected a host name such as 'api.example.com' or '*.example.com'"],
  },
  {
    name: 'trusted proxy that is not an address',
    mutate: (c) => (c.listen.trustedProxies = ['10.0.0.0/8', 'my-lb']),
    problems: ["listen.trustedProxies[1]: not an address, CIDR or keyword: 'my-lb'"],
  },
  {
    name: 'admin on the data port',
    mutate: (c) => (c.admin = { port: 8080 }),
    problems: ['admin.port: the admin API needs its own port (same as listen.port)'],
  },
  {
    name: 'workers: zero',
    mutate: (c) => (c.workers = 0),
    problems: ["workers: expected a number of workers (1 to 256) or 'auto'"],
  },
  {
    name: 'workers: a word other than auto',
    mutate: (c) => (c.workers = 'all'),
    problems: ["workers: expected a number of workers (1 to 256) or 'auto'"],
  },
  {
    name: 'a Redis Cluster without startup nodes',
    mutate: (c) => (c.cluster = { redis: { cluster: [] } }),
    problems: ['cluster.redis.cluster: a Redis Cluster needs at least one startup node'],
  },
  {
    name: 'a Redis Cluster startup node that is not a Redis address',
    mutate: (c) => (c.cluster = { redis: { cluster: ['http://r1:6379', { host: 'r2', port: 6379 }] } }),
    problems: ['cluster.redis.cluster[0]: expected a redis:// or rediss:// URL'],
  },
  {
    name: 'Sentinel without the primary name',
    mutate: (c) => (c.cluster = { redis: { sentinels: [{ host: 's1', port: 26379 }] } }),
    problems: ["cluster.redis.name: Sentinel needs the primary's name (e.g. 'mymaster')"],
  },
  {
    name: 'a Redis Cluster and Sentinel at once',
    mutate: (c) =>
      (c.cluster = {
        redis: { cluster: ['redis://r1:6379'], sentinels: [{ host: 's1', port: 26379 }], name: 'mymaster' },
      }),
    problems: ['cluster.redis.sentinels: a Redis Cluster or Sentinel, not both'],
  },
  {
    name: 'cluster.redis URL of another scheme',
    mutate: (c) => (c.cluster = { redis: 'http://r1:6379' }),
    problems: ['cluster.redis: expected a redis:// or rediss:// URL'],
  },
  {
    name: 'missing listen',
    mutate: (c) => delete c.listen,
    problems: ['listen: expected a listener { port, host?, tls? } or a list of them'],
  },
];

for (const { name, mutate, problems } of invalid) {
  test(`invalid: ${name}`, (t) => {
    const config = base();
    mutate(config);
    t.deepEqual(problemsFor(config), problems);
  });
}

const workerCases: Array<[unknown, number]> = [
  [undefined, 1],
  [1, 1],
  [4, 4],
  ['auto', availableParallelism()],
];
for (const [input, workers] of workerCases) {
  test(`workers ${JSON.stringify(input)} runs ${workers} worker process(es)`, (t) => {
    t.is(settingsFor({ ...base(), ...(input === undefined ? {} : { workers: input }) }).workers, workers);
  });
}

test('cluster.redis: a URL, ioredis options, Sentinel and a Redis Cluster are accepted as given', (t) => {
  const shapes = [
    'rediss://:secret@redis.internal:6380',
    { host: 'redis.internal', port: 6380, tls: { ca: 'PEM' } },
    { sentinels: [{ host: 's1', port: 26379 }], name: 'mymaster', password: 'p' },
    { cluster: ['redis://r1:6379', { host: 'r2', port: 6379 }], password: 'p' },
  ];
  for (const redis of shapes) t.deepEqual(settingsFor({ ...base(), cluster: { redis } }).cluster.redis, redis);
});

test('every problem is reported at once, each with its path', (t) => {
  const config: any = base();
  config.pools.api.nodes[0].url = 'x';
  config.pools.api.policy = 'nope';
  config.pools.other = { policy: 'round-robin', nodes: [{ url: 'http://h:1', tier: -1 }] };
  config.routes.push({ path: '/b', pool: 'missing' });
  const problems = problemsFor(config);
  t.true(problems.includes('pools.api.nodes[0].url: invalid URL "x"'));
  t.true(problems.includes('pools.other.nodes[0].tier: Too small: expected number to be >=0'));
  t.true(problems.includes("routes[1].pool: unknown pool 'missing' (pools: api, other)"));
  t.is(problems.length, 3, problems.join('\n'));
});

test('LOG_LEVEL from the environment wins over the config and is checked', (t) => {
  t.is(settingsFor({ ...base(), log: { level: 'warn' } }, { env: { LOG_LEVEL: 'debug' } }).log.level, 'debug');
  t.deepEqual(problemsFor(base(), { env: { LOG_LEVEL: 'loud' } }), [
    'LOG_LEVEL (environment): expected one of fatal, error, warn, info, debug, trace, silent',
  ]);
});

test('the admin token may come from BATON_ADMIN_TOKEN', (t) => {
  t.like(settingsFor(base(), { env: { BATON_ADMIN_TOKEN: 'secret-token' } }).admin, { token: 'secret-token' });
});

// --- TLS listeners, several listeners, redirect routes, upstream TLS --------------------------

let pki: TestPki;
let cert: Issued;
let other: Issued;
test.before(async () => {
  pki = makePki();
  cert = await pki.server('valid', ['127.0.0.1']);
  other = await pki.server('other', ['127.0.0.1']);
});
test.after.always(() => pki?.remove());

const tlsCases: Array<{ name: string; mutate: (c: any) => void; problems: (dir: string) => string[] }> = [
  {
    name: 'a TLS listener without a certificate',
    mutate: (c) => (c.listen.tls = {}),
    problems: () => ['listen.tls: a TLS listener needs a certificate: cert and key, or certificates'],
  },
  {
    name: 'a certificate file that does not exist',
    mutate: (c) => (c.listen.tls = { cert: 'missing.crt', key: cert.keyFile }),
    problems: (dir) => [`listen.tls.cert: cannot read ${dir}/missing.crt: ENOENT`],
  },
  {
    name: 'a certificate with the key of another',
    mutate: (c) => (c.listen = [{ port: 8443, tls: { cert: cert.certFile, key: other.keyFile } }, { port: 8080 }]),
    problems: () => [
      'listen[0].tls: the certificate and key cannot be used together: error:05800074:x509 certificate routines::key values mismatch',
    ],
  },
  {
    name: 'client certificates without a CA',
    mutate: (c) => (c.listen.tls = { cert: cert.cert, key: cert.key, clientCertificate: 'require' }),
    problems: () => ['listen.tls.clientCertificate: client certificates need ca (the CA that signs them)'],
  },
  {
    name: 'HTTP/2 on a plain listener',
    mutate: (c) => (c.listen.http2 = true),
    problems: () => ['listen.http2: HTTP/2 is offered on TLS listeners only (add tls)'],
  },
  {
    name: 'a typo in a listener of a list',
    mutate: (c) => (c.listen = [{ port: 8080 }, { prot: 8081 }]),
    problems: () => [
      'listen[1].port: Invalid input: expected number, received undefined',
      'listen[1].prot: unknown key',
    ],
  },
  {
    name: 'two listeners on one port',
    mutate: (c) => (c.listen = [{ port: 8080 }, { port: 8080 }]),
    problems: () => ['listen[1].port: port 8080 is taken by listen[0]'],
  },
  {
    name: 'a redirect without a TLS listener, a route with neither pool nor redirect',
    mutate: (c) => c.routes.push({ path: '/r', redirect: 'https' }, { path: '/x' }),
    problems: () => [
      "routes[1].redirect: redirect: 'https' needs a TLS listener to redirect to",
      'routes[2].pool: a route needs a pool (or redirect)',
    ],
  },
  {
    name: 'upstream tls on http:// nodes',
    mutate: (c) => (c.pools.api.tls = { rejectUnauthorized: false }),
    problems: () => ['pools.api.tls: tls applies to https:// nodes only'],
  },
  {
    name: 'a pool that mixes http:// and https:// nodes',
    mutate: (c) => (c.pools.api.nodes[1].url = 'https://127.0.0.1:9002'),
    problems: () => [
      "pools.api.nodes: a pool's nodes all use http:// or all https:// (they share one connection pool)",
    ],
  },
];

for (const { name, mutate, problems } of tlsCases) {
  test(`invalid: ${name}`, (t) => {
    const config = base();
    mutate(config);
    t.deepEqual(problemsFor(config, { baseDir: pki.dir }), problems(pki.dir));
  });
}

test('listen may be a list; TLS listeners offer HTTP/2 by default; PEM inline or from files relative to the config', (t) => {
  const config: any = base();
  config.listen = [
    {
      port: 8443,
      tls: {
        cert: 'valid.crt',
        key: cert.key,
        certificates: [{ hosts: ['*.Example.com'], cert: other.certFile, key: other.keyFile }],
      },
    },
    { port: 8080, trustedProxies: ['loopback'] },
  ];
  config.routes.unshift({ path: '/', redirect: 'https' });
  const settings = settingsFor(config, { baseDir: pki.dir });
  const [secure, plain] = settings.listeners;
  t.like(secure, { port: 8443, http2: true, tls: { clientCertificate: 'none', minVersion: 'TLSv1.2' } });
  t.deepEqual(
    secure!.tls!.certificates.map((c) => [c.hosts, c.cert.file]),
    [
      [[], `${pki.dir}/valid.crt`],
      [['*.example.com'], other.certFile],
    ],
  );
  t.is(secure!.tls!.certificates[0]!.key.file, undefined, 'inline PEM');
  t.like(plain, { port: 8080, http2: false, tls: undefined, trustedProxies: ['loopback'] });
  t.like(settings.routes[0], { redirect: 'https', pool: '' });
  t.like(settings.server.http2, { maxConcurrentStreams: 100, maxResets: 200, floodWindowMs: 10_000 });
});
