import { z } from './zod.ts';
import { parseDuration, parseSize } from '../util/units.ts';
import { isPolicyRef } from '../policy/define.ts';
import { canonicalTarget } from '../routing/canonical-path.ts';
import { validHost } from '../routing/host.ts';
import type { StatusRange } from '../vocabulary.ts';

/**
 * The shape of `gateway.config.ts` in zod. Objects are strict (an unknown key is an error,
 * because a typo such as `retires:` must not be silently ignored). Durations and sizes come
 * out in milliseconds and bytes. Defaults are not applied here but in pool-settings.ts, because a
 * pool's defaults depend on its policy.
 */

export const duration = z
  .union([z.number(), z.string()], { error: "expected a duration such as 250, '250ms', '5s' or '1m'" })
  .transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms !== undefined) return ms;
    ctx.addIssue({
      code: 'custom',
      message: `invalid duration ${JSON.stringify(value)} (use 250, '250ms', '5s' or '1m')`,
    });
    return z.NEVER;
  });

export const size = z
  .union([z.number(), z.string()], { error: "expected a size such as 65536, '64kb' or '1mb'" })
  .transform((value, ctx) => {
    const bytes = parseSize(value);
    if (bytes !== undefined) return bytes;
    ctx.addIssue({ code: 'custom', message: `invalid size ${JSON.stringify(value)} (use 65536, '64kb' or '1mb')` });
    return z.NEVER;
  });

const port = z.number().int().min(0).max(65535);
const count = z.number().int().min(1);
const workersProblem = "expected a number of workers (1 to 256) or 'auto'";
const httpStatus = z.number().int().min(100).max(599);

export function parseStatusMatch(value: number | string): StatusRange | undefined {
  if (typeof value === 'number')
    return Number.isInteger(value) && value >= 100 && value <= 599 ? { min: value, max: value } : undefined;
  const klass = /^([1-5])xx$/i.exec(value);
  if (klass) return { min: Number(klass[1]) * 100, max: Number(klass[1]) * 100 + 99 };
  const range = /^(\d{3})\s*-\s*(\d{3})$/.exec(value);
  if (range && Number(range[1]) <= Number(range[2])) return { min: Number(range[1]), max: Number(range[2]) };
  return undefined;
}

const statusMatch = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const range = parseStatusMatch(value);
  if (range) return range;
  ctx.addIssue({ code: 'custom', message: `invalid status ${JSON.stringify(value)} (use 200, '2xx' or '200-399')` });
  return z.NEVER;
});

const httpUrl = z.string().transform((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `invalid URL ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `unsupported protocol ${url.protocol} (use http: or https:)` });
    return z.NEVER;
  }
  if (url.search || url.hash || url.username) {
    ctx.addIssue({ code: 'custom', message: 'a node URL may not carry a query, fragment or credentials' });
    return z.NEVER;
  }
  return url;
});

const methodName = z
  .string()
  .regex(/^[A-Za-z]+$/, 'expected an HTTP method such as GET')
  .transform((m) => m.toUpperCase());

const hostPattern = z
  .string()
  .regex(
    /^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?$/,
    "expected a host name such as 'api.example.com' or '*.example.com'",
  )
  .transform((h) => h.toLowerCase().replace(/\.$/, ''));

/** A Host name for the admin API: a valid host, without a port. */
const adminHostName = z
  .string()
  .refine(
    (h) => validHost(h) && !/:\d+$/.test(h),
    "expected a host name or IP address without a port, such as 'admin.internal' or '[::1]'",
  );

const pathPrefix = z
  .string()
  .regex(/^\/[^?#\s]*$/, "expected a path starting with '/' (no query or spaces)")
  .transform((p) => (p.length > 1 ? p.replace(/\/+$/, '') || '/' : p))
  // Requests are matched in their canonical form, so a prefix in any other form never matches.
  .refine((p) => {
    const canonical = canonicalTarget(p);
    return canonical !== undefined && canonical.path === p && canonical.decoded === p;
  }, "expected a canonical path: no '//', dot segments, backslashes, ';', %2F or %5C, and unreserved characters unescaped");

export const nodeSchema = z.strictObject({
  url: httpUrl,
  id: z
    .string()
    .regex(/^[^\s/]+$/, 'expected an id without spaces or slashes')
    .optional(),
  weight: z.number().int().min(1).max(10_000).optional(),
  tier: z.number().int().min(0).max(100).optional(),
  standby: z.enum(['hot', 'cold']).optional(),
});

export const healthSchema = z.union([
  z.literal(false),
  z.strictObject({
    path: z
      .string()
      .regex(/^\/\S*$/, "expected a path starting with '/'")
      .optional(),
    interval: duration.optional(),
    timeout: duration.optional(),
    rise: count.optional(),
    fall: count.optional(),
    expect: z.union([statusMatch, z.array(statusMatch).min(1)]).optional(),
  }),
]);

export const passiveSchema = z.union([
  z.literal(false),
  z.strictObject({
    failures: count.optional(),
    statuses: z.array(httpStatus).optional(),
    ejectTime: duration.optional(),
    maxEjectTime: duration.optional(),
  }),
]);

export const breakerSchema = z.union([
  z.literal(false),
  z.strictObject({
    errorThresholdPercentage: z.number().min(1).max(100).optional(),
    volumeThreshold: z.number().int().min(0).optional(),
    resetTimeout: duration.optional(),
    window: duration.optional(),
  }),
]);

export const retrySchema = z.strictObject({
  attempts: z.number().int().min(1).max(10).optional(),
  nonIdempotent: z.boolean().optional(),
  bufferBody: size.optional(),
  waitForNode: duration.optional(),
  deadline: duration.optional(),
  statuses: z.array(httpStatus).optional(),
});

/** A share of requests: `'5%'`, or a number of percent (`5`). */
const percent = z
  .union([z.number(), z.string()], { error: "expected a percentage such as '5%'" })
  .transform((value, ctx) => {
    const match =
      typeof value === 'number' ? [String(value), String(value)] : /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
    const share = match ? Number(match[1]) / 100 : NaN;
    if (Number.isFinite(share) && share > 0 && share <= 1) return share;
    ctx.addIssue({
      code: 'custom',
      message: `invalid share ${JSON.stringify(value)} (use '5%': more than 0, at most 100)`,
    });
    return z.NEVER;
  });

const hedgeAfter = z
  .union([z.number(), z.string()], { error: "expected 'auto' or a duration such as 50, '50ms' or '1s'" })
  .transform((value, ctx): number | 'auto' => {
    if (value === 'auto') return 'auto';
    const ms = parseDuration(value);
    if (ms !== undefined) return ms;
    ctx.addIssue({
      code: 'custom',
      message: `invalid delay ${JSON.stringify(value)} (use 'auto', 50, '50ms' or '1s')`,
    });
    return z.NEVER;
  });

export const hedgeSchema = z.union([
  z.literal(false),
  z.strictObject({
    after: hedgeAfter.optional(),
    max: z.number().int().min(1).max(5).optional(),
    budget: percent.optional(),
  }),
]);

export const timeoutsSchema = z.strictObject({
  connect: duration.optional(),
  response: duration.optional(),
});

const policyChoice = z.union(
  [z.string().min(1), z.custom<{ name: string }>(isPolicyRef), z.looseObject({ name: z.string().min(1) })],
  { error: 'expected a policy name, { name, ...options }, or a policy value such as hotStandby({...})' },
);

/**
 * A PEM value: the PEM text itself (it starts with `-----BEGIN`) or a file path. Files are read
 * when the config is validated (see tls-settings.ts), so `baton check` and a reload see them.
 */
const pem = z.string().min(1, 'expected PEM text or a file path');

export const listenerTlsSchema = z.strictObject({
  cert: pem.optional(),
  key: pem.optional(),
  certificates: z.array(z.strictObject({ hosts: z.array(hostPattern).min(1), cert: pem, key: pem })).optional(),
  ca: pem.optional(),
  clientCertificate: z.enum(['request', 'require'], { error: "expected 'request' or 'require'" }).optional(),
  minVersion: z.enum(['TLSv1.2', 'TLSv1.3'], { error: "expected 'TLSv1.2' or 'TLSv1.3'" }).optional(),
  ciphers: z.string().min(1).optional(),
});

export const listenerSchema = z.strictObject({
  host: z.string().min(1).optional(),
  port,
  trustedProxies: z.array(z.string().min(1)).optional(),
  tls: listenerTlsSchema.optional(),
  http2: z.boolean().optional(),
});

export const upstreamTlsSchema = z.strictObject({
  ca: pem.optional(),
  servername: z.string().min(1).optional(),
  rejectUnauthorized: z.boolean().optional(),
  cert: pem.optional(),
  key: pem.optional(),
});

export const poolSchema = z.strictObject({
  policy: policyChoice,
  nodes: z.array(nodeSchema).min(1, 'a pool needs at least one node'),
  health: healthSchema.optional(),
  passive: passiveSchema.optional(),
  breaker: breakerSchema.optional(),
  retry: retrySchema.optional(),
  hedge: hedgeSchema.optional(),
  timeouts: timeoutsSchema.optional(),
  tls: upstreamTlsSchema.optional(),
});

export const routeSchema = z.strictObject({
  name: z.string().min(1).optional(),
  host: hostPattern.optional(),
  path: pathPrefix.optional(),
  methods: z.array(methodName).min(1).optional(),
  pool: z.string().min(1).optional(),
  redirect: z.literal('https', { error: "expected 'https'" }).optional(),
  stripPath: z.boolean().optional(),
  websocket: z.boolean().optional(),
  maxBody: z.union([z.literal(false), size]).optional(),
});

const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

const redisUrl = z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL');
const redisAddress = z.union([redisUrl, z.object({ host: z.string().min(1), port }).loose()]);
/**
 * `cluster.redis`: a URL, or ioredis options passed through as they are, except the two shapes
 * Baton reads itself: `cluster` (a Redis Cluster's startup nodes) and `sentinels` + `name`.
 */
const redisTarget = z.union([
  redisUrl,
  z.record(z.string(), z.unknown()).superRefine((options, ctx) => {
    if ('cluster' in options) {
      const nodes = z
        .array(redisAddress)
        .min(1, 'a Redis Cluster needs at least one startup node')
        .safeParse(options.cluster);
      if (!nodes.success)
        for (const issue of nodes.error.issues)
          ctx.addIssue({ code: 'custom', path: ['cluster', ...issue.path], message: issue.message });
      if ('sentinels' in options)
        ctx.addIssue({ code: 'custom', path: ['sentinels'], message: 'a Redis Cluster or Sentinel, not both' });
    }
    if ('sentinels' in options && typeof options.name !== 'string')
      ctx.addIssue({ code: 'custom', path: ['name'], message: "Sentinel needs the primary's name (e.g. 'mymaster')" });
  }),
]);

export const configSchema = z.strictObject({
  // Listeners are parsed one by one (validate.ts), so that problems keep short paths
  // (`listen.port` for a single listener, `listen[1].tls` in a list).
  listen: z.union([z.looseObject({}), z.array(z.unknown()).min(1, 'at least one listener is needed')], {
    error: 'expected a listener { port, host?, tls? } or a list of them',
  }),
  server: z
    .strictObject({
      headersTimeout: duration.optional(),
      requestTimeout: duration.optional(),
      keepAliveTimeout: duration.optional(),
      maxHeaderSize: size.optional(),
      maxBody: z.union([z.literal(false), size]).optional(),
      drainTimeout: duration.optional(),
      escapedSlashes: z
        .enum(['keep', 'decode', 'reject'], { error: "expected 'keep', 'decode' or 'reject'" })
        .optional(),
      sendTimeout: duration.optional(),
      http2: z
        .strictObject({
          maxConcurrentStreams: z.number().int().min(1).max(10_000).optional(),
          floodWindow: duration.optional(),
          maxResets: count.optional(),
          maxPings: count.optional(),
          maxSettings: count.optional(),
        })
        .optional(),
    })
    .optional(),
  admin: z
    .union([
      z.literal(false),
      z.strictObject({
        host: z.string().min(1).optional(),
        port,
        token: z.string().min(8, 'an admin token needs at least 8 characters').optional(),
        tokenForReads: z.boolean().optional(),
        allowedHosts: z.array(adminHostName).optional(),
        maxEventStreams: z.number().int().min(1).max(1000).optional(),
      }),
    ])
    .optional(),
  cluster: z
    .strictObject({
      name: z
        .string()
        .regex(/^[A-Za-z0-9._-]+$/, 'expected letters, digits, dot, dash or underscore')
        .optional(),
      instanceId: z
        .string()
        .regex(/^[A-Za-z0-9._:-]+$/, 'expected letters, digits, dot, colon, dash or underscore')
        .optional(),
      redis: redisTarget.optional(),
      quorum: z.union([count, z.literal('majority')]).optional(),
      resyncInterval: duration.optional(),
      heartbeatInterval: duration.optional(),
      localFailover: z.boolean().optional(),
    })
    .optional(),
  log: z.strictObject({ level: logLevel.optional(), access: z.boolean().optional() }).optional(),
  workers: z
    .union([z.number().int(workersProblem).min(1, workersProblem).max(256, workersProblem), z.literal('auto')], {
      error: workersProblem,
    })
    .optional(),
  plugins: z.array(z.unknown()).optional(),
  // Pools and routes are parsed one by one (validate.ts), so that one broken pool does not
  // hide the problems of the others or the cross-checks between routes and pools.
  pools: z.record(
    z.string().regex(/^[A-Za-z0-9_-]+$/, 'pool names use letters, digits, dash or underscore'),
    z.unknown(),
  ),
  routes: z.array(z.unknown()),
});

export type ParsedConfig = z.output<typeof configSchema>;
export type ParsedPool = z.output<typeof poolSchema>;
export type ParsedRoute = z.output<typeof routeSchema>;
export type ParsedListener = z.output<typeof listenerSchema>;
export type ParsedUpstreamTls = z.output<typeof upstreamTlsSchema>;
