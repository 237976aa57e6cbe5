import type { Agent } from 'node:http';
import type { BreakerSettings, HealthSettings, NodeSettings, PassiveSettings } from '../config/types.ts';
import type { AttemptOutcome, BreakerState, Health, NodeView } from '../policy/types.ts';
import type { ClusterHealth } from '../state/types.ts';
import { NodeHealth, type LocalTransition } from '../health/node-health.ts';
import { Prober, type ProbeResult } from '../health/prober.ts';
import { NodeBreaker, type BucketRotation } from '../breaker/breaker.ts';
import { proxyTarget, type ProxyTarget } from '../proxy/target.ts';
import type { Clock } from '../util/clock.ts';
import {
  isSuspected,
  nextSuspicion,
  unsuspected,
  type SuspicionInput,
  type SuspicionRules,
  type SuspicionState,
} from '../health/suspicion.ts';

/** Hedges lost in a row (with no answer in between) before a node is suspected of hanging. */
const SUSPICION_LOSSES = 3;

export interface NodeHooks {
  onLocalHealth(node: UpstreamNode, transition: LocalTransition): void;
  onBreaker(node: UpstreamNode, state: BreakerState): void;
  /** A node on probation finished its trial request: it may take the next one. */
  onTrialSlotFree(node: UpstreamNode): void;
  /** A heartbeat of this gateway's finished (shared with other workers of the machine). */
  onHeartbeat?(node: UpstreamNode, result: ProbeResult): void;
}

export interface NodeWiring {
  readonly clock: Clock;
  readonly agent: Agent;
  readonly health: HealthSettings | false;
  readonly passive: PassiveSettings | false;
  readonly breaker: BreakerSettings | false;
  readonly rotation: BucketRotation | undefined;
  readonly hooks: NodeHooks;
  /** This host's clock reading in the shared store's clock (the times policies compare). */
  readonly storeTime: (local: number) => number;
  /** False: another worker of this machine sends the heartbeats; their results come through `heartbeat()`. */
  readonly probing?: boolean;
}

/**
 * One upstream node on this instance: its config, its local health (heartbeats + passive),
 * its circuit breaker, its in-flight count and drain flag, and the cluster's verdict on it.
 * It is the NodeView policies read, so every getter is cheap and allocation-free.
 */
export class UpstreamNode implements NodeView {
  readonly id: string;
  readonly url: URL;
  weight: number;
  tier: number;
  standby: 'hot' | 'cold' | undefined;
  readonly target: ProxyTarget;
  draining = false;
  /** This instance's health tracking (heartbeats, passive observations); `local` is its verdict. */
  readonly healthTracker: NodeHealth;
  #breaker: NodeBreaker;
  #breakerKey: string;
  #clusterHealth: ClusterHealth | undefined;
  #prober: Prober | undefined;
  #wiring: NodeWiring;
  #suspicion: SuspicionState = unsuspected;
  #inflight = 0;

  constructor(settings: NodeSettings, wiring: NodeWiring) {
    this.id = settings.id;
    this.url = settings.url;
    this.weight = settings.weight;
    this.tier = settings.tier;
    this.standby = settings.standby;
    this.target = proxyTarget(settings.url);
    this.#wiring = wiring;
    this.healthTracker = new NodeHealth(healthRules(wiring), wiring.clock, (transition) =>
      this.#wiring.hooks.onLocalHealth(this, transition),
    );
    this.#breakerKey = JSON.stringify(wiring.breaker);
    this.#breaker = this.#newBreaker(wiring);
    this.#prober = this.#newProber(wiring);
  }

  /**
   * A config reload kept this node (same id and URL): take the new settings without losing
   * its health, in-flight count or drain flag. A changed breaker setting starts a new breaker.
   */
  reconfigure(settings: NodeSettings, wiring: NodeWiring): void {
    this.weight = settings.weight;
    this.tier = settings.tier;
    this.standby = settings.standby;
    this.#wiring = wiring;
    this.healthTracker.updateRules(healthRules(wiring));
    if (JSON.stringify(wiring.breaker) !== this.#breakerKey) {
      this.#breaker.shutdown();
      this.#breakerKey = JSON.stringify(wiring.breaker);
      this.#breaker = this.#newBreaker(wiring);
    }
    if (wiring.health && this.#prober) this.#prober.updateSettings(wiring.health);
    else {
      this.#prober?.stop();
      this.#prober = this.#newProber(wiring);
      this.#prober?.start();
    }
  }

  /** The circuit breaker itself; `breaker` is its state, the one policies read. */
  get circuit(): NodeBreaker {
    return this.#breaker;
  }

  #newBreaker(wiring: NodeWiring): NodeBreaker {
    return new NodeBreaker(wiring.breaker, wiring.rotation, (state) => this.#wiring.hooks.onBreaker(this, state));
  }

  #newProber(wiring: NodeWiring): Prober | undefined {
    if (!wiring.health || wiring.probing === false) return undefined;
    return new Prober({ url: this.url, agent: wiring.agent }, wiring.health, wiring.clock, (result: ProbeResult) => {
      this.#onHeartbeat(result);
      this.#wiring.hooks.onHeartbeat?.(this, result);
    });
  }

  /** A heartbeat result from the worker that probes for this machine. */
  heartbeat(result: ProbeResult): void {
    if (this.#wiring.health && this.#wiring.probing === false) this.#onHeartbeat(result);
  }

  #onHeartbeat(result: ProbeResult): void {
    this.#suspect({ type: 'probe', ok: result.ok, startedAt: result.startedAt ?? 0 }, result.detail);
    this.healthTracker.probe(result.ok, result.detail);
  }

  // --- Latency-aware suspicion (see health/suspicion.ts) ----------------------------------

  /** Suspected of hanging: probed now, and passed over for new requests while the probe runs. */
  suspected(now: number): boolean {
    return isSuspected(this.#suspicion, now);
  }

  /** While suspected: until when the suspicion lasts without a verdict (0 otherwise). */
  get suspectedUntil(): number {
    return this.#suspicion.until;
  }

  /** A hedge sent elsewhere answered while this node's copy was still pending. */
  lostHedge(): void {
    this.#suspect({ type: 'lost' }, '');
  }

  /** This node answered a request (response headers): it does not hang. */
  answered(): void {
    const state = this.#suspicion;
    if (state.losses === 0 && state.since === 0) return;
    this.#suspect({ type: 'answered' }, '');
  }

  #suspect(input: SuspicionInput, detail: string): void {
    const step = nextSuspicion(this.#suspicion, input, suspicionRules(this.#wiring), this.#wiring.clock.now());
    this.#suspicion = step.state;
    if (step.action === 'probe') this.#prober?.probeNow();
    else if (step.action === 'eject')
      this.healthTracker.ejectHung(
        `hung: lost ${SUSPICION_LOSSES} hedges in a row, then a heartbeat failed (${detail})`,
      );
  }

  get local(): Health {
    return this.healthTracker.verdict;
  }

  get cluster(): Health {
    return this.#clusterHealth?.verdict ?? this.healthTracker.verdict;
  }

  get health(): Health {
    const local = this.healthTracker.verdict;
    const cluster = this.cluster;
    if (local === 'down' || cluster === 'down') return 'down';
    return local === 'up' || cluster === 'up' ? 'up' : 'unknown';
  }

  /** Store time, like every time policies compare (a host's clock may be off). */
  get upSince(): number | undefined {
    if (this.health !== 'up') return undefined;
    const cluster = this.#clusterHealth;
    return cluster?.verdict === 'up' ? cluster.since : this.#wiring.storeTime(this.healthTracker.since);
  }

  /** While passive detection keeps the node out: when that ends (store time). */
  get ejectedUntil(): number | undefined {
    const until = this.healthTracker.ejectedUntil;
    return until > this.#wiring.clock.now() ? this.#wiring.storeTime(until) : undefined;
  }

  get breaker(): BreakerState {
    return this.circuit.state;
  }

  get usable(): boolean {
    if (this.draining || !this.circuit.admits) return false;
    if (this.healthTracker.probation) return this.inflight === 0;
    return this.health !== 'down';
  }

  get clusterHealth(): ClusterHealth | undefined {
    return this.#clusterHealth;
  }

  /** The store's verdict changed (or the store was lost: undefined falls back to local). */
  setClusterHealth(health: ClusterHealth | undefined): void {
    this.#clusterHealth = health;
  }

  /** Attempts sent to this node and not over yet (their responses still stream). */
  get inflight(): number {
    return this.#inflight;
  }

  /** An attempt on this node starts: the one place in-flight requests are counted up. */
  begin(): void {
    this.#inflight += 1;
  }

  /** An attempt on this node is over (its response finished or failed): pairs with begin(). */
  end(): void {
    this.#inflight -= 1;
    if (this.healthTracker.probation) this.#wiring.hooks.onTrialSlotFree(this);
  }

  /** How an attempt on this node ended (passive health); a failure also asks for a heartbeat now. */
  recordOutcome(outcome: AttemptOutcome): void {
    this.healthTracker.recordOutcome(outcome);
    if (outcome.failed) this.#prober?.probeNow();
  }

  /** Traffic or another instance suspects the node: check it now. */
  probeNow(): void {
    this.#prober?.probeNow();
  }

  start(): void {
    this.#prober?.start();
  }

  /** Removed from the config: no more heartbeats (in-flight requests may still finish). */
  stopProbing(): void {
    this.#prober?.stop();
  }

  dispose(): void {
    this.#prober?.stop();
    this.healthTracker.dispose();
    this.#breaker.shutdown();
  }
}

function suspicionRules(wiring: NodeWiring): SuspicionRules {
  const health = wiring.health;
  // A probe may be in flight when suspicion begins: its answer does not count, the next one
  // does, so a verdict takes up to two heartbeat timeouts.
  return {
    losses: SUSPICION_LOSSES,
    maxSuspicionMs: health ? 2 * health.timeoutMs + 250 : 1000,
    quietMs: health ? Math.max(1000, health.intervalMs) : 1000,
  };
}

function healthRules(wiring: NodeWiring) {
  const health = wiring.health;
  return {
    heartbeats: health !== false,
    rise: health ? health.rise : 1,
    fall: health ? health.fall : 1,
    passive: wiring.passive,
  };
}
