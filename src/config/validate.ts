import { availableParallelism, hostname } from 'node:os';
import type { ZodError } from './zod.ts';
import {
  configSchema,
  listenerSchema,
  poolSchema,
  routeSchema,
  type ParsedConfig,
  type ParsedListener,
  type ParsedPool,
  type ParsedRoute,
} from './schema.ts';
import { buildPoolSettings, nodeSettings, parsePoolDefaults } from './pool-settings.ts';
import { adminDefaults, clusterDefaults, serverDefaults } from './defaults.ts';
import { http2Settings, listenerSettings, upstreamTlsSettings } from './tls-settings.ts';
import { buildPolicyRegistry, type PolicyRegistry } from '../policy/registry.ts';
import { isPolicyRef } from '../policy/define.ts';
import { policyRefBrand, type PolicyRef } from '../policy/types.ts';
import type { Plugin } from '../policy/plugin.ts';
import { invalidTrustEntries } from '../util/trusted-proxies.ts';
import type { LogLevel } from '../util/logger.ts';
import type { GatewaySettings, ListenerSettings, PoolSettings, ResolvedPolicy, RouteSettings } from './types.ts';

/** One problem, located by its path in the config: `pools.api.nodes[1].url: invalid URL "x"`. */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

export function formatProblem(problem: ConfigProblem): string {
  return problem.path ? `${problem.path}: ${problem.message}` : problem.message;
}

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    super(`invalid configuration:\n${problems.map(formatProblem).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out;
}

function problemsOf(error: ZodError, prefix: readonly PropertyKey[]): ConfigProblem[] {
  return issuesOf(error.issues, prefix);
}

function issuesOf(issues: ZodError['issues'], prefix: readonly PropertyKey[]): ConfigProblem[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    // `false | { … }` (hedge, health, …): an object with a bad field is reported at the field,
    // not as "Invalid input" for the whole union.
    if (issue.code === 'invalid_union') {
      const inside = issue.errors.find(
        (option) =>
          option.length > 0 && option.every((nested) => nested.path.length > 0 || nested.code === 'unrecognized_keys'),
      );
      if (inside) return issuesOf(inside, path);
    }
    // One line per unknown key, with the key in the path: "pools.api.retires: unknown key".
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: formatPath([...path, key]), message: 'unknown key' }));
    }
    return [{ path: formatPath(path), message: issue.message }];
  });
}

export interface PluginEntry {
  readonly plugin: Plugin;
  /** Where it came from, for messages: `plugins[2]`, or '' for built-ins. */
  readonly path: string;
}

export interface ValidateOptions {
  readonly plugins: readonly PluginEntry[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where relative PEM file paths start (the config file's directory); default: the working directory. */
  readonly baseDir?: string;
}

export type ValidationResult = { ok: true; settings: GatewaySettings } | { ok: false; problems: ConfigProblem[] };

/**
 * Raw config object in, settings or every problem out. Plugins are already loaded. Pure but
 * for reading the PEM files the config names (tls-settings.ts says why) and for the default
 * instance id, which is this host's name and process id.
 */
export function validateConfig(raw: unknown, options: ValidateOptions): ValidationResult {
  const problems: ConfigProblem[] = [];
  const { registry, problems: registryProblems } = buildPolicyRegistry(options.plugins.map((entry) => entry.plugin));
  for (const p of registryProblems)
    problems.push({ path: options.plugins[p.pluginIndex]?.path ?? 'plugins', message: p.message });

  const top = configSchema.safeParse(raw);
  if (!top.success) {
    problems.push(...problemsOf(top.error, []));
    return { ok: false, problems };
  }
  const config = top.data;
  const baseDir = options.baseDir ?? process.cwd();
  const parsedListeners = parseListeners(config, problems);
  const listeners = parsedListeners.map(({ parsed, path }) => listenerSettings(parsed, path, baseDir, problems));
  const pools = parsePools(config, registry, baseDir, problems);
  const routes = parseRoutes(config, pools, listeners, problems);
  checkTopLevel(config, parsedListeners, listeners, problems);
  checkEnvironment(options.env, problems);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, settings: settingsFrom(config, listeners, pools, routes, options) };
}

type PlacedListener = { parsed: ParsedListener; path: string };

/** `listen` as a list, each with the path its problems are reported under. */
function parseListeners(config: ParsedConfig, problems: ConfigProblem[]): PlacedListener[] {
  const entries: Array<[unknown, PropertyKey[]]> = Array.isArray(config.listen)
    ? config.listen.map((raw, index) => [raw, ['listen', index]])
    : [[config.listen, ['listen']]];
  const out: PlacedListener[] = [];
  for (const [raw, prefix] of entries) {
    const parsed = listenerSchema.safeParse(raw);
    if (parsed.success) out.push({ parsed: parsed.data, path: formatPath(prefix) });
    else problems.push(...problemsOf(parsed.error, prefix));
  }
  return out;
}

function parsePools(
  config: ParsedConfig,
  registry: PolicyRegistry,
  baseDir: string,
  problems: ConfigProblem[],
): Map<string, PoolSettings> {
  const pools = new Map<string, PoolSettings>();
  for (const [name, rawPool] of Object.entries(config.pools)) {
    const parsed = poolSchema.safeParse(rawPool);
    if (!parsed.success) {
      problems.push(...problemsOf(parsed.error, ['pools', name]));
      continue;
    }
    const policy = resolvePolicy(parsed.data.policy, registry, ['pools', name, 'policy'], problems);
    const nodes = parsed.data.nodes.map(nodeSettings);
    checkDuplicateIds(name, parsed.data, nodes, problems);
    const protocols = new Set(nodes.map((node) => node.url.protocol));
    const tls = upstreamTlsSettings(parsed.data.tls, protocols, formatPath(['pools', name]), baseDir, problems);
    if (!policy) continue;
    const defaults = parsePoolDefaults(policy.ref.definition.poolDefaults);
    for (const error of defaults.errors) {
      problems.push({
        path: formatPath(['pools', name, 'policy']),
        message: `policy '${policy.name}' has invalid poolDefaults: ${error}`,
      });
    }
    pools.set(name, buildPoolSettings(name, parsed.data, nodes, policy, defaults.value, tls));
  }
  return pools;
}

function checkDuplicateIds(
  pool: string,
  parsed: ParsedPool,
  nodes: ReturnType<typeof nodeSettings>[],
  problems: ConfigProblem[],
) {
  const seen = new Map<string, number>();
  nodes.forEach((node, index) => {
    const first = seen.get(node.id);
    if (first === undefined) seen.set(node.id, index);
    else {
      const field = parsed.nodes[index]?.id === undefined ? 'url' : 'id';
      problems.push({
        path: formatPath(['pools', pool, 'nodes', index, field]),
        message: `duplicate node id '${node.id}' (also nodes[${first}]); give one of them an explicit id`,
      });
    }
  });
}

function resolvePolicy(
  choice: ParsedPool['policy'],
  registry: PolicyRegistry,
  path: PropertyKey[],
  problems: ConfigProblem[],
): ResolvedPolicy | undefined {
  let ref: PolicyRef;
  let optionsPath = path;
  if (isPolicyRef(choice)) {
    ref = choice;
  } else {
    const { name, ...options } = typeof choice === 'string' ? { name: choice } : (choice as { name: string });
    const definition = registry.get(name);
    if (!definition) {
      const known = registry.names().join(', ') || 'none';
      problems.push({
        path: formatPath(typeof choice === 'string' ? path : [...path, 'name']),
        message: `unknown policy '${name}' (known: ${known})`,
      });
      return undefined;
    }
    ref = { [policyRefBrand]: true, definition, options };
    optionsPath = path;
  }
  const { definition } = ref;
  if (!definition.options) {
    if (ref.options && Object.keys(ref.options as object).length > 0) {
      problems.push({ path: formatPath(optionsPath), message: `policy '${definition.name}' takes no options` });
      return undefined;
    }
    return { name: definition.name, ref };
  }
  const parsed = definition.options.safeParse(ref.options ?? {});
  if (!parsed.success) {
    problems.push(...problemsOf(parsed.error, optionsPath));
    return undefined;
  }
  return { name: definition.name, ref: { [policyRefBrand]: true, definition, options: parsed.data } };
}

function parseRoutes(
  config: ParsedConfig,
  pools: Map<string, PoolSettings>,
  listeners: readonly ListenerSettings[],
  problems: ConfigProblem[],
): RouteSettings[] {
  const routes: RouteSettings[] = [];
  const poolNames = Object.keys(config.pools);
  const names = new Set<string>();
  config.routes.forEach((rawRoute, index) => {
    const poolName = (rawRoute as { pool?: unknown } | null)?.pool;
    if (typeof poolName === 'string' && !poolNames.includes(poolName)) {
      problems.push({
        path: formatPath(['routes', index, 'pool']),
        message: `unknown pool '${poolName}' (pools: ${poolNames.join(', ') || 'none'})`,
      });
    }
    const parsed = routeSchema.safeParse(rawRoute);
    if (!parsed.success) {
      problems.push(...problemsOf(parsed.error, ['routes', index]));
      return;
    }
    if (parsed.data.websocket && parsed.data.methods && !parsed.data.methods.includes('GET')) {
      problems.push({ path: formatPath(['routes', index, 'methods']), message: 'a websocket route must allow GET' });
    }
    const at = (key: string) => formatPath(['routes', index, key]);
    if (parsed.data.redirect) {
      if (parsed.data.pool !== undefined)
        problems.push({ path: at('pool'), message: 'a redirect route sends no request to a pool' });
      if (!listeners.some((listener) => listener.tls))
        problems.push({ path: at('redirect'), message: "redirect: 'https' needs a TLS listener to redirect to" });
      routes.push(routeSettings(parsed.data, index, config, names));
      return;
    }
    if (parsed.data.pool === undefined) {
      problems.push({ path: at('pool'), message: 'a route needs a pool (or redirect)' });
      return;
    }
    if (!pools.has(parsed.data.pool)) return;
    routes.push(routeSettings(parsed.data, index, config, names));
  });
  return routes;
}

function routeSettings(route: ParsedRoute, index: number, config: ParsedConfig, names: Set<string>): RouteSettings {
  let name = route.name ?? `${route.host ?? '*'}${route.path ?? '/'}`;
  if (names.has(name)) name = `${name}#${index}`;
  names.add(name);
  const serverMaxBody = config.server?.maxBody;
  return {
    name,
    host: route.host,
    path: route.path ?? '/',
    methods: route.methods,
    pool: route.pool ?? '',
    redirect: route.redirect,
    stripPath: route.stripPath ?? false,
    websocket: route.websocket ?? false,
    maxBody: route.maxBody ?? serverMaxBody ?? serverDefaults.maxBody,
  };
}

function checkTopLevel(
  config: ParsedConfig,
  placed: readonly PlacedListener[],
  listeners: readonly ListenerSettings[],
  problems: ConfigProblem[],
) {
  const ports = new Map<number, string>();
  for (const { parsed, path } of placed) {
    for (const entry of invalidTrustEntries(parsed.trustedProxies ?? [])) {
      const index = parsed.trustedProxies!.indexOf(entry);
      problems.push({
        path: `${path}.trustedProxies[${index}]`,
        message: `not an address, CIDR or keyword: '${entry}'`,
      });
    }
    const first = ports.get(parsed.port);
    if (parsed.port !== 0 && first !== undefined)
      problems.push({ path: `${path}.port`, message: `port ${parsed.port} is taken by ${first}` });
    else ports.set(parsed.port, path);
  }
  const admin = config.admin;
  if (admin && admin.port !== 0 && listeners.some((listener) => listener.port === admin.port)) {
    problems.push({ path: 'admin.port', message: 'the admin API needs its own port (same as listen.port)' });
  }
  if (config.routes.length === 0) problems.push({ path: 'routes', message: 'at least one route is needed' });
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function checkEnvironment(env: ValidateOptions['env'], problems: ConfigProblem[]) {
  if (env.LOG_LEVEL && !logLevels.includes(env.LOG_LEVEL)) {
    problems.push({ path: 'LOG_LEVEL (environment)', message: `expected one of ${logLevels.join(', ')}` });
  }
}

function settingsFrom(
  config: ParsedConfig,
  listeners: ListenerSettings[],
  pools: Map<string, PoolSettings>,
  routes: RouteSettings[],
  options: ValidateOptions,
): GatewaySettings {
  const env = options.env;
  const server = config.server ?? {};
  const cluster = config.cluster ?? {};
  const logLevel = ((env.LOG_LEVEL || undefined) as LogLevel | undefined) ?? config.log?.level ?? 'info';
  return {
    listeners,
    server: {
      headersTimeoutMs: server.headersTimeout ?? serverDefaults.headersTimeoutMs,
      requestTimeoutMs: server.requestTimeout ?? serverDefaults.requestTimeoutMs,
      keepAliveTimeoutMs: server.keepAliveTimeout ?? serverDefaults.keepAliveTimeoutMs,
      maxHeaderSize: server.maxHeaderSize ?? serverDefaults.maxHeaderSize,
      drainTimeoutMs: server.drainTimeout ?? serverDefaults.drainTimeoutMs,
      escapedSlashes: server.escapedSlashes ?? serverDefaults.escapedSlashes,
      sendTimeoutMs: server.sendTimeout ?? serverDefaults.sendTimeoutMs,
      http2: http2Settings(config),
    },
    admin:
      config.admin === false
        ? false
        : {
            host: config.admin?.host ?? adminDefaults.host,
            port: config.admin?.port ?? 9901,
            token: config.admin?.token ?? (env.BATON_ADMIN_TOKEN || undefined),
            tokenForReads: config.admin?.tokenForReads ?? false,
            allowedHosts: config.admin?.allowedHosts ?? [],
            maxEventStreams: config.admin?.maxEventStreams ?? adminDefaults.maxEventStreams,
          },
    cluster: {
      name: cluster.name ?? clusterDefaults.name,
      instanceId: cluster.instanceId ?? `${hostname()}-${process.pid}`,
      redis: cluster.redis,
      quorum: cluster.quorum ?? clusterDefaults.quorum,
      resyncIntervalMs: cluster.resyncInterval ?? clusterDefaults.resyncIntervalMs,
      heartbeatIntervalMs: cluster.heartbeatInterval ?? clusterDefaults.heartbeatIntervalMs,
      localFailover: cluster.localFailover ?? clusterDefaults.localFailover,
    },
    log: { level: logLevel, access: config.log?.access ?? true },
    workers: config.workers === 'auto' ? availableParallelism() : (config.workers ?? 1),
    plugins: options.plugins.map((entry) => entry.plugin),
    pools,
    routes,
  };
}
