import type { GatewayEvent } from '../events/types.ts';
import type { Health } from '../policy/types.ts';
import type { HubSnapshot } from '../state/memory-store.ts';
import type { ActiveState, Proposal, StoreChange } from '../state/types.ts';

/**
 * The messages between the supervisor (cluster primary) and its workers. Every message carries
 * `baton: 1`: prom-client's cluster aggregation uses the same IPC channel with messages of its own.
 * Messages are JSON (node:cluster's default serialization): no undefined inside arrays, no Maps.
 */

/** Worker → supervisor: the store calls of one worker-side IpcStore (`id` = its instance id). */
export type StoreRequest =
  | { readonly kind: 'store.join'; readonly id: string; readonly rid: number }
  | { readonly kind: 'store.leave'; readonly id: string }
  | {
      readonly kind: 'store.vote';
      readonly id: string;
      readonly pool: string;
      readonly node: string;
      readonly verdict: Health;
      readonly reason: string;
    }
  | {
      readonly kind: 'store.propose';
      readonly id: string;
      readonly rid: number;
      readonly pool: string;
      readonly proposal: Proposal;
    }
  | {
      readonly kind: 'store.drain';
      readonly id: string;
      readonly rid: number;
      readonly pool: string;
      readonly node: string;
      readonly draining: boolean;
    }
  | {
      readonly kind: 'store.retain';
      readonly id: string;
      readonly pools: ReadonlyArray<readonly [string, readonly string[]]>;
    };

export interface JoinAnswer {
  readonly snapshot: HubSnapshot;
  readonly quorum: number | 'majority';
  /** The hub's clock when it answered: the worker keeps the offset to its own clock. */
  readonly now: number;
  readonly members: ReadonlyArray<{ readonly id: string; readonly startedAt: number }>;
}

/** Supervisor → worker: answers and change notices for one IpcStore. */
export type StoreNotice =
  | {
      readonly kind: 'store.reply';
      readonly rid: number;
      readonly value?: JoinAnswer | ActiveState | null;
      readonly error?: { readonly code: string; readonly detail?: string };
    }
  | { readonly kind: 'store.change'; readonly to: string; readonly change: StoreChange };

/** What the admin worker collects from every worker for the machine's view. */
export type ReportKind = 'status' | 'series';

/** For 'series': the window asked for. */
export interface ReportArgs {
  readonly seconds?: number;
  readonly pool?: string;
}

export interface WorkerReport {
  readonly worker: number;
  readonly pid: number;
  readonly value: unknown;
}

export type HeartbeatResult = {
  readonly pool: string;
  readonly node: string;
  readonly ok: boolean;
  readonly detail: string;
};

/** Worker → supervisor. */
export type UpMessage =
  | StoreRequest
  | {
      readonly kind: 'listening';
      readonly listeners: ReadonlyArray<{ readonly url: string; readonly tls: boolean; readonly http2: boolean }>;
      readonly adminUrl: string | undefined;
    }
  | { readonly kind: 'start-failed'; readonly reason: string }
  | { readonly kind: 'reloaded'; readonly rid: number; readonly ok: boolean; readonly lines: readonly string[] }
  /** The admin worker's heartbeat results, for every other worker's local verdicts. */
  | ({ readonly kind: 'heartbeat' } & HeartbeatResult)
  /** The admin worker asks for every worker's report (or the aggregated metrics). */
  | ({ readonly kind: 'collect'; readonly rid: number; readonly what: ReportKind | 'metrics' } & ReportArgs)
  | { readonly kind: 'report'; readonly rid: number; readonly value: unknown };

/** Supervisor → worker. */
export type DownMessage =
  | StoreNotice
  | { readonly kind: 'reload'; readonly rid: number }
  | { readonly kind: 'stop' }
  | ({ readonly kind: 'heartbeat' } & HeartbeatResult)
  /** A supervisor event (a worker crashed, was replaced) for the admin worker's /events. */
  | { readonly kind: 'event'; readonly event: GatewayEvent }
  | {
      readonly kind: 'collected';
      readonly rid: number;
      readonly reports?: readonly WorkerReport[];
      readonly metrics?: string;
      readonly error?: string;
    }
  | ({ readonly kind: 'report'; readonly rid: number; readonly what: ReportKind } & ReportArgs);

export type Tagged<M> = M & { readonly baton: 1 };

export function tag<M extends object>(message: M): Tagged<M> {
  return { ...message, baton: 1 };
}

export function isTagged<M>(message: unknown): message is Tagged<M> {
  return typeof message === 'object' && message !== null && (message as { baton?: unknown }).baton === 1;
}
