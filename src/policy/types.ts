import type { IncomingHttpHeaders } from 'node:http';
import type { ZodType, ZodInput, ZodOutput } from '../config/zod.ts';
import type { Health, BreakerState, AttemptOutcome, PoolSectionsConfig } from '../vocabulary.ts';

// A node's states and how an attempt ended live in vocabulary.ts (health, breaker and proxy
// use them too); they are part of the policy contract, so published from here.
export type { Health, BreakerState, OutcomeKind, AttemptOutcome } from '../vocabulary.ts';

/**
 * The policy contract. A policy is what a plugin author writes: a small object whose `pick`
 * chooses a node for one attempt. It reads health, breaker and load through read-only views
 * and never does I/O, so it can be tested with plain objects and a number for `now`.
 */

/** What the config says about a node. */
export interface NodeInfo {
  readonly id: string;
  readonly url: URL;
  readonly weight: number;
  readonly tier: number;
  readonly standby: 'hot' | 'cold' | undefined;
}

export interface PoolInfo {
  readonly name: string;
  readonly nodes: readonly NodeInfo[];
}

/** A node as it is right now on this instance. Live: read it when you need it, don't keep copies. */
export interface NodeView extends NodeInfo {
  /** The verdict this instance acts on: down if either the cluster or the local verdict says so. */
  readonly health: Health;
  /** This instance's own verdict (heartbeats and passive observations). */
  readonly local: Health;
  /** The cluster's verdict from the shared store (equal to `local` with the memory store). */
  readonly cluster: Health;
  /** When the node last became healthy (store time), while it is up; undefined otherwise. */
  readonly upSince: number | undefined;
  readonly breaker: BreakerState;
  /** Requests in flight to this node from this instance. */
  readonly inflight: number;
  /** Drained by an operator: gets no new requests, in-flight ones finish. */
  readonly draining: boolean;
  /** Can take a new request now: not down, not draining, and the breaker lets one through. */
  readonly usable: boolean;
}

export interface PoolView {
  readonly name: string;
  /** In config order. */
  readonly nodes: readonly NodeView[];
  /** Active-passive pools: the node every instance sends traffic to; null otherwise. */
  readonly active: string | null;
  /** Active-passive pools: rises on every change of the active node (a fencing token). */
  readonly epoch: number | null;
  /** Active-passive pools: when the active node last changed (store time); null otherwise. */
  readonly activeSince: number | null;
  /** Active-passive pools: the node active before the current one. */
  readonly activeFrom?: string | null;
  /**
   * Active-passive pools: how many changes in a row went back and forth between the same two
   * nodes, as stored with the active state by the policy's elections (`Election.flips`), so every
   * instance sees the same count. Policies back off on it.
   */
  readonly flips?: number;
  /**
   * Rises whenever a node's health, breaker or drain state changes. Policies may cache what
   * they derive from `nodes` (candidate lists, rings) until it moves. Without it, no caching.
   * (Two things change without an event: a half-open breaker's trial being taken and a node
   * on probation taking its one request; the gateway re-picks when a pick is no longer usable.)
   */
  readonly version?: number;
}

export interface PickContext {
  readonly method: string;
  /** The request path as routed (before stripPath), without the query. */
  readonly path: string;
  readonly headers: Readonly<IncomingHttpHeaders>;
  readonly clientIp: string;
  /** 1 for the first try, 2 for the first retry, … */
  readonly attempt: number;
  /** Node ids already tried for this request; a pick must skip them. */
  readonly tried: ReadonlySet<string>;
  readonly now: number;
}

/** An active-passive policy's answer: make `to` the active node. */
export interface Election {
  readonly to: string;
  readonly reason: string;
  /** Stored with the new state and read back as `PoolView.flips` (0 when absent). */
  readonly flips?: number;
}

/** Why the gateway asks for an election: its own schedule, or an operator's admin call. */
export type ElectionIntent = 'auto' | 'failover' | 'failback';

export interface Policy {
  /** Sync and pure: choose a usable node not in `ctx.tried`, or undefined when there is none. */
  pick(pool: PoolView, ctx: PickContext): NodeView | undefined;
  /** Called after every attempt, for adaptive policies (latency, errors). */
  observe?(node: NodeView, outcome: AttemptOutcome, now: number): void;
  /**
   * Active-passive policies only: which node should be active now. Pure. The gateway asks on
   * every health change and on a timer, and applies a change through the store's
   * compare-and-set on the epoch, so across all instances exactly one proposal wins. `now` is
   * the shared store's clock, like the times in the view, so every instance measures delays
   * alike. `recheckAt` (same clock) asks to be consulted again then, e.g. when a failback delay
   * ends.
   */
  elect?(pool: PoolView, now: number, intent: ElectionIntent): Election | { recheckAt: number } | undefined;
  dispose?(): void;
}

/** Pool settings a policy wants unless the user sets them (hot standby wants fast heartbeats). */
export type PoolDefaults = PoolSectionsConfig;

/**
 * The options type of a policy that declares no schema: only `{}`, as the gateway refuses any
 * option for it ("takes no options"), so `roundRobin({ slowStart: '1s' })` is a type error too.
 */
export type NoOptions = ZodType<Record<string, never>, Record<string, never>>;

export interface PolicyDefinition<S extends ZodType = ZodType> {
  readonly name: string;
  /** A zod schema for the options; errors are reported at `pools.<pool>.policy.<option>`. */
  readonly options?: S;
  readonly poolDefaults?: PoolDefaults;
  /** One instance per pool; policy state (counters, rings) lives in the returned object. */
  create(options: ZodOutput<S>, pool: PoolInfo): Policy;
}

export const policyRefBrand: unique symbol = Symbol.for('baton.policy-ref') as never;
export const policyDefinitionBrand: unique symbol = Symbol.for('baton.policy-definition') as never;

/** A policy chosen by value in the config: `policy: hotStandby({ failback: 'manual' })`. */
export interface PolicyRef {
  readonly [policyRefBrand]: true;
  readonly definition: PolicyDefinition;
  readonly options: unknown;
}

/** What `definePolicy` returns: call it with options to get a PolicyRef; it is also the definition. */
export interface PolicyFactory<S extends ZodType = ZodType> extends PolicyDefinition<S> {
  (options?: ZodInput<S>): PolicyRef;
  readonly [policyDefinitionBrand]: true;
}
