import type { BreakerState, Health, NodeView } from '../policy/types.ts';

/** A fake node's starting point: config fields and the state the gateway tracks. All optional. */
export interface FakeNodeState {
  readonly url?: string | URL;
  readonly weight?: number;
  readonly tier?: number;
  readonly standby?: 'hot' | 'cold';
  /** This instance's verdict (heartbeats, passive observations). Default 'up'. */
  readonly local?: Health;
  /** The cluster's verdict. Default 'up'. */
  readonly cluster?: Health;
  /** When the node came up (reported only while its health is 'up'). Default 0. */
  readonly upSince?: number;
  readonly breaker?: BreakerState;
  /** A half-open breaker's one trial request is under way. */
  readonly trialInFlight?: boolean;
  /** A pool without heartbeats, after an ejection: one request at a time until one succeeds. */
  readonly probation?: boolean;
  readonly inflight?: number;
  readonly draining?: boolean;
}

/**
 * A node view for policy tests. Set the state the gateway tracks (`local`, `cluster`,
 * `breaker`, `trialInFlight`, `probation`, `inflight`, `draining`) and read `health`,
 * `usable` and `upSince` derived from it exactly as the gateway derives them, so a test
 * cannot build a node the gateway would never show a policy.
 *
 * Changes that the gateway announces (health, breaker, drain, probation, tier) move the
 * version of the pools the node is in; `inflight` and `trialInFlight` do not, as in the
 * gateway, where a policy's cached candidate list may lag behind them for a moment.
 */
export class FakeNode implements NodeView {
  readonly id: string;
  url: URL;
  weight: number;
  standby: 'hot' | 'cold' | undefined;
  inflight: number;
  trialInFlight: boolean;
  #tier: number;
  #local: Health;
  #cluster: Health;
  #upSince: number;
  #breaker: BreakerState;
  #probation: boolean;
  #draining: boolean;
  readonly #listeners: Array<() => void> = [];

  constructor(id: string, state: FakeNodeState = {}) {
    this.id = id;
    this.url = new URL(state.url ?? defaultUrl(id));
    this.weight = state.weight ?? 1;
    this.#tier = state.tier ?? 0;
    this.standby = state.standby;
    this.#local = state.local ?? 'up';
    this.#cluster = state.cluster ?? 'up';
    this.#upSince = state.upSince ?? 0;
    this.#breaker = state.breaker ?? 'closed';
    this.trialInFlight = state.trialInFlight ?? false;
    this.#probation = state.probation ?? false;
    this.inflight = state.inflight ?? 0;
    this.#draining = state.draining ?? false;
  }

  /** Down if either verdict says so; up if either says up; otherwise unknown. */
  get health(): Health {
    if (this.#local === 'down' || this.#cluster === 'down') return 'down';
    return this.#local === 'up' || this.#cluster === 'up' ? 'up' : 'unknown';
  }

  /** Not draining; the breaker lets a request through; on probation only while idle; not down. */
  get usable(): boolean {
    if (this.#draining || !this.#breakerAdmits()) return false;
    if (this.#probation) return this.inflight === 0;
    return this.health !== 'down';
  }

  get upSince(): number | undefined {
    return this.health === 'up' ? this.#upSince : undefined;
  }

  set upSince(at: number) {
    this.#upSince = at;
  }

  get tier(): number {
    return this.#tier;
  }

  set tier(tier: number) {
    this.#tier = tier;
    this.#changed();
  }

  get local(): Health {
    return this.#local;
  }

  set local(verdict: Health) {
    this.#local = verdict;
    this.#changed();
  }

  get cluster(): Health {
    return this.#cluster;
  }

  set cluster(verdict: Health) {
    this.#cluster = verdict;
    this.#changed();
  }

  get breaker(): BreakerState {
    return this.#breaker;
  }

  set breaker(state: BreakerState) {
    this.#breaker = state;
    this.trialInFlight = false;
    this.#changed();
  }

  get probation(): boolean {
    return this.#probation;
  }

  set probation(on: boolean) {
    this.#probation = on;
    this.#changed();
  }

  get draining(): boolean {
    return this.#draining;
  }

  set draining(on: boolean) {
    this.#draining = on;
    this.#changed();
  }

  /** Called by the pools that hold this node, to move their version. */
  onAnnouncedChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** Closed, or half-open with its one trial not yet taken. */
  #breakerAdmits(): boolean {
    return this.#breaker === 'closed' || (this.#breaker === 'half-open' && !this.trialInFlight);
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}

/** `http://<id>` when the id reads as a host (`web-1`, `10.0.1.11:3000`, as the gateway's default ids do). */
function defaultUrl(id: string): string {
  return URL.canParse(`http://${id}`) ? `http://${id}` : 'http://fake-node.test';
}

export function fakeNode(id: string, state?: FakeNodeState): FakeNode {
  return new FakeNode(id, state);
}
