import type { Http2Settings } from './types.ts';
import type {
  BreakerSettings,
  HealthSettings,
  HedgeSettings,
  PassiveSettings,
  RetrySettings,
  TimeoutSettings,
} from '../vocabulary.ts';

/**
 * Built-in defaults, in one place so the README's config reference can be checked against
 * them. A policy's poolDefaults override these; the user's config overrides both.
 */
export const healthDefaults: HealthSettings = {
  path: '/',
  intervalMs: 1000,
  timeoutMs: 500,
  rise: 2,
  fall: 3,
  expect: [{ min: 200, max: 399 }],
};

export const passiveDefaults: PassiveSettings = {
  failures: 3,
  statuses: [502, 503, 504],
  ejectTimeMs: 5000,
  maxEjectTimeMs: 60_000,
};

export const breakerDefaults: BreakerSettings = {
  errorThresholdPercentage: 50,
  volumeThreshold: 20,
  resetTimeoutMs: 5000,
  windowMs: 10_000,
};

export const retryDefaults: RetrySettings = {
  attempts: 3,
  nonIdempotent: false,
  bufferBody: 64 * 1024,
  waitForNodeMs: 0,
  deadlineMs: 60_000,
  statuses: [502, 503, 504],
};

/** On by default: a hung node should cost a safe request one hedge delay, not a response timeout. */
export const hedgeDefaults: HedgeSettings = {
  after: 'auto',
  max: 1,
  budget: 0.05,
};

export const timeoutDefaults: TimeoutSettings = {
  connectMs: 2000,
  responseMs: 30_000,
};

export const serverDefaults = {
  host: '0.0.0.0',
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 5000,
  maxHeaderSize: 16 * 1024,
  maxBody: 100 * 1024 * 1024,
  drainTimeoutMs: 10_000,
  escapedSlashes: 'keep',
  sendTimeoutMs: 60_000,
} as const;

export const adminDefaults = { host: '127.0.0.1', maxEventStreams: 16 } as const;

export const clusterDefaults = {
  name: 'baton',
  quorum: 1,
  resyncIntervalMs: 5000,
  heartbeatIntervalMs: 1000,
  localFailover: true,
} as const;

/**
 * HTTP/2 limits. The flood limits count per client connection in `floodWindowMs`: well above
 * what a browser does (it cancels a few streams when the user navigates away, sends one SETTINGS
 * and rare PINGs), well below what a flood needs to hurt.
 */
export const http2Defaults: Http2Settings = {
  maxConcurrentStreams: 100,
  floodWindowMs: 10_000,
  maxResets: 200,
  maxPings: 100,
  maxSettings: 100,
};

export const tlsDefaults = { minVersion: 'TLSv1.2' } as const;
