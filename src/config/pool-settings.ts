import type { ZodType, ZodOutput } from './zod.ts';
import {
  breakerSchema,
  healthSchema,
  hedgeSchema,
  passiveSchema,
  retrySchema,
  timeoutsSchema,
  type ParsedPool,
} from './schema.ts';
import {
  breakerDefaults,
  healthDefaults,
  hedgeDefaults,
  passiveDefaults,
  retryDefaults,
  timeoutDefaults,
} from './defaults.ts';
import type { PoolSettings, ResolvedPolicy } from './types.ts';
import type {
  BreakerSettings,
  HealthSettings,
  HedgeSettings,
  NodeSettings,
  PassiveSettings,
  RetrySettings,
  StatusRange,
  TimeoutSettings,
  UpstreamTlsSettings,
} from '../vocabulary.ts';
import type { PoolDefaults } from '../policy/types.ts';

/**
 * Turns one parsed pool into settings: built-in defaults, then the policy's poolDefaults,
 * then what the user wrote. `false` at any level disables a section (health, passive, breaker).
 */

type Parsed<S extends ZodType> = Exclude<ZodOutput<S>, false>;

/**
 * The fields of one section the user (or the policy) set. It takes every field of the settings
 * type by name, so a settings field added without its line in the converter fails to compile.
 */
function defined<T extends object>(value: { [K in keyof T]-?: T[K] | undefined }): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function healthFrom(p: Parsed<typeof healthSchema>): Partial<HealthSettings> {
  const expect: StatusRange[] | undefined =
    p.expect === undefined ? undefined : Array.isArray(p.expect) ? p.expect : [p.expect];
  return defined<HealthSettings>({
    path: p.path,
    intervalMs: p.interval,
    timeoutMs: p.timeout,
    rise: p.rise,
    fall: p.fall,
    expect,
  });
}

function passiveFrom(p: Parsed<typeof passiveSchema>): Partial<PassiveSettings> {
  return defined<PassiveSettings>({
    failures: p.failures,
    statuses: p.statuses,
    ejectTimeMs: p.ejectTime,
    maxEjectTimeMs: p.maxEjectTime,
  });
}

function breakerFrom(p: Parsed<typeof breakerSchema>): Partial<BreakerSettings> {
  return defined<BreakerSettings>({
    errorThresholdPercentage: p.errorThresholdPercentage,
    volumeThreshold: p.volumeThreshold,
    resetTimeoutMs: p.resetTimeout,
    windowMs: p.window,
  });
}

function retryFrom(p: ZodOutput<typeof retrySchema>): Partial<RetrySettings> {
  return defined<RetrySettings>({
    attempts: p.attempts,
    nonIdempotent: p.nonIdempotent,
    bufferBody: p.bufferBody,
    waitForNodeMs: p.waitForNode,
    deadlineMs: p.deadline,
    statuses: p.statuses,
  });
}

function hedgeFrom(p: Parsed<typeof hedgeSchema>): Partial<HedgeSettings> {
  return defined<HedgeSettings>({ after: p.after, max: p.max, budget: p.budget });
}

function timeoutsFrom(p: ZodOutput<typeof timeoutsSchema>): Partial<TimeoutSettings> {
  return defined<TimeoutSettings>({ connectMs: p.connect, responseMs: p.response });
}

/** Merges one section; `false` from the user (or, failing that, from the policy) disables it. */
function layer<T extends object, P>(
  builtin: T,
  fromPolicy: P | false | undefined,
  fromUser: P | false | undefined,
  convert: (p: P) => Partial<T>,
): T | false {
  if (fromUser === false) return false;
  if (fromPolicy === false && fromUser === undefined) return false;
  const policyPart = fromPolicy ? convert(fromPolicy) : {};
  const userPart = fromUser ? convert(fromUser) : {};
  return { ...builtin, ...policyPart, ...userPart };
}

export interface ParsedPoolDefaults {
  health?: Parsed<typeof healthSchema> | false;
  passive?: Parsed<typeof passiveSchema> | false;
  breaker?: Parsed<typeof breakerSchema> | false;
  retry?: ZodOutput<typeof retrySchema>;
  hedge?: Parsed<typeof hedgeSchema> | false;
  timeouts?: ZodOutput<typeof timeoutsSchema>;
}

/** A policy's poolDefaults are written like user config; parse them the same way. */
export function parsePoolDefaults(defaults: PoolDefaults | undefined): { value: ParsedPoolDefaults; errors: string[] } {
  const value: ParsedPoolDefaults = {};
  const errors: string[] = [];
  if (!defaults) return { value, errors };
  const sections = {
    health: healthSchema,
    passive: passiveSchema,
    breaker: breakerSchema,
    retry: retrySchema,
    hedge: hedgeSchema,
    timeouts: timeoutsSchema,
  };
  for (const [key, schema] of Object.entries(sections) as [keyof ParsedPoolDefaults, ZodType][]) {
    if (defaults[key] === undefined) continue;
    const result = schema.safeParse(defaults[key]);
    if (result.success) (value as Record<string, unknown>)[key] = result.data;
    else errors.push(`${key}: ${result.error.issues.map((i) => i.message).join('; ')}`);
  }
  return { value, errors };
}

export function buildPoolSettings(
  name: string,
  pool: ParsedPool,
  nodes: readonly NodeSettings[],
  policy: ResolvedPolicy,
  policyDefaults: ParsedPoolDefaults,
  tls: UpstreamTlsSettings | undefined,
): PoolSettings {
  const retry = layer(retryDefaults, policyDefaults.retry, pool.retry, retryFrom) as RetrySettings;
  const timeouts = layer(timeoutDefaults, policyDefaults.timeouts, pool.timeouts, timeoutsFrom) as TimeoutSettings;
  return {
    name,
    policy,
    nodes,
    health: layer(healthDefaults, policyDefaults.health, pool.health, healthFrom),
    passive: layer(passiveDefaults, policyDefaults.passive, pool.passive, passiveFrom),
    breaker: layer(breakerDefaults, policyDefaults.breaker, pool.breaker, breakerFrom),
    retry,
    hedge: layer(hedgeDefaults, policyDefaults.hedge, pool.hedge, hedgeFrom),
    timeouts,
    tls,
  };
}

/** Node ids default to host:port, the same on every instance that reads the same config. */
export function nodeSettings(node: ParsedPool['nodes'][number]): NodeSettings {
  const port = node.url.port || (node.url.protocol === 'https:' ? '443' : '80');
  return {
    id: node.id ?? `${node.url.hostname}:${port}`,
    url: node.url,
    weight: node.weight ?? 1,
    tier: node.tier ?? 0,
    standby: node.standby,
  };
}
