import type { Health } from '../policy/types.ts';
import type { ActiveState } from './types.ts';

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

export type Notice =
  | { readonly type: 'health'; readonly pool: string; readonly node: string; readonly seq: number; readonly record: HealthRecord }
  | { readonly type: 'active'; readonly pool: string; readonly seq: number; readonly state: ActiveState }
  | { readonly type: 'suspect'; readonly pool: string; readonly node: string; readonly by: string }
  | { readonly type: 'instance'; readonly instance: string; readonly joined: boolean }
  | { readonly type: 'drain'; readonly pool: string; readonly node: string; readonly draining: boolean; readonly by: string; readonly seq: number };

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
    down: isString(r.down) && r.down !== '' ? r.down.split(',') : [],
  };
}

export function toActiveState(value: unknown): ActiveState | undefined {
  const r = value as Record<string, unknown> | null;
  if (!r || !isString(r.active) || !isNumber(r.epoch) || !isNumber(r.since)) return undefined;
  return { active: r.active, epoch: r.epoch, since: r.since, reason: isString(r.reason) ? r.reason : '', by: isString(r.by) ? r.by : '' };
}

export const decodeHealth = (text: string) => toHealthRecord(parse(text));
export const decodeActive = (text: string) => toActiveState(parse(text));

export function decodeNotice(text: string): Notice | undefined {
  const m = parse(text);
  if (!m) return undefined;
  switch (m.type) {
    case 'health': {
      const record = toHealthRecord(m.record);
      return record && isString(m.pool) && isString(m.node) && isNumber(m.seq) ? { type: 'health', pool: m.pool, node: m.node, seq: m.seq, record } : undefined;
    }
    case 'active': {
      const state = toActiveState(m.state);
      return state && isString(m.pool) && isNumber(m.seq) ? { type: 'active', pool: m.pool, seq: m.seq, state } : undefined;
    }
    case 'suspect':
      return isString(m.pool) && isString(m.node) && isString(m.by) ? { type: 'suspect', pool: m.pool, node: m.node, by: m.by } : undefined;
    case 'instance':
      return isString(m.instance) ? { type: 'instance', instance: m.instance, joined: m.joined === true } : undefined;
    case 'drain':
      return isString(m.pool) && isString(m.node) && isString(m.by) && isNumber(m.seq)
        ? { type: 'drain', pool: m.pool, node: m.node, draining: m.draining === true, by: m.by, seq: m.seq }
        : undefined;
    default:
      return undefined;
  }
}
