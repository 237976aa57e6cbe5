import type { Health } from '../vocabulary.ts';
import type { ActiveState, DrainRecord } from './types.ts';

/**
 * What the Lua scripts write and publish, decoded defensively: a malformed record or notice
 * (another version, a stray publisher) is ignored, never a crash.
 */
export interface HealthRecord {
  readonly verdict: Health;
  readonly since: number;
  readonly reason: string;
  /** Rises with every change of this node's record. */
  readonly version: number;
  readonly down: readonly string[];
}

export type NoticeChange =
  | { readonly type: 'health'; readonly pool: string; readonly node: string; readonly record: HealthRecord }
  | { readonly type: 'active'; readonly pool: string; readonly state: ActiveState }
  | { readonly type: 'suspect'; readonly pool: string; readonly node: string; readonly by: string }
  | { readonly type: 'instance'; readonly instance: string; readonly joined: boolean }
  | { readonly type: 'drain'; readonly pool: string; readonly node: string; readonly record: DrainRecord };

/** One PUBLISH: every change one script made, under one sequence number. */
export interface Notice {
  readonly seq: number;
  readonly changes: readonly NoticeChange[];
}

const verdicts = new Set(['up', 'down', 'unknown']);
const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function parse(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function toHealthRecord(value: unknown): HealthRecord | undefined {
  const r = value as Record<string, unknown> | null;
  if (!r || !verdicts.has(r.verdict as string) || !isNumber(r.since) || !isNumber(r.version)) return undefined;
  return {
    verdict: r.verdict as Health,
    since: r.since,
    reason: isString(r.reason) ? r.reason : '',
    version: r.version,
    down: isString(r.down) && r.down !== '' ? r.down.split(',').sort() : [],
  };
}

export function toActiveState(value: unknown): ActiveState | undefined {
  const r = value as Record<string, unknown> | null;
  if (!r || !isString(r.active) || !isNumber(r.epoch) || !isNumber(r.since)) return undefined;
  return {
    active: r.active,
    epoch: r.epoch,
    since: r.since,
    reason: isString(r.reason) ? r.reason : '',
    by: isString(r.by) ? r.by : '',
    id: isString(r.id) ? r.id : '',
    from: isString(r.from) && r.from !== '' ? r.from : null,
    flips: isNumber(r.flips) ? r.flips : 0,
    pinned: r.pinned === true,
  };
}

export function toDrainRecord(value: unknown): DrainRecord | undefined {
  const r = value as Record<string, unknown> | null;
  if (!r || typeof r.draining !== 'boolean' || !isNumber(r.version)) return undefined;
  return { draining: r.draining, by: isString(r.by) ? r.by : '', version: r.version };
}

export const decodeHealth = (text: string) => toHealthRecord(parse(text));
export const decodeActive = (text: string) => toActiveState(parse(text));
export const decodeDrain = (text: string) => toDrainRecord(parse(text));

/** Lua's cjson encodes the active state as JSON; this is the inverse of toActiveState. */
export function encodeActive(state: ActiveState): string {
  return JSON.stringify({ ...state, from: state.from ?? '' });
}

function toChange(value: unknown): NoticeChange | undefined {
  const m = value as Record<string, unknown> | null;
  if (!m || typeof m !== 'object') return undefined;
  switch (m.t) {
    case 'health': {
      const record = toHealthRecord(m.record);
      return record && isString(m.pool) && isString(m.node)
        ? { type: 'health', pool: m.pool, node: m.node, record }
        : undefined;
    }
    case 'active': {
      const state = toActiveState(m.state);
      return state && isString(m.pool) ? { type: 'active', pool: m.pool, state } : undefined;
    }
    case 'suspect':
      return isString(m.pool) && isString(m.node) && isString(m.by)
        ? { type: 'suspect', pool: m.pool, node: m.node, by: m.by }
        : undefined;
    case 'instance':
      return isString(m.instance) ? { type: 'instance', instance: m.instance, joined: m.joined === true } : undefined;
    case 'drain': {
      const record = toDrainRecord(m.record);
      return record && isString(m.pool) && isString(m.node)
        ? { type: 'drain', pool: m.pool, node: m.node, record }
        : undefined;
    }
    default:
      return undefined;
  }
}

export function decodeNotice(text: string): Notice | undefined {
  const m = parse(text);
  if (!m || !isNumber(m.seq) || !Array.isArray(m.changes)) return undefined;
  const changes: NoticeChange[] = [];
  for (const item of m.changes) {
    const change = toChange(item);
    if (change) changes.push(change);
  }
  return { seq: m.seq, changes };
}
