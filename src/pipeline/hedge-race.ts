import type { UpstreamNode } from '../pool/upstream-node.ts';
import type { AttemptHandle, AttemptOwner } from '../proxy/forwarder.ts';

/**
 * One hedged request's race: its tries in flight at once (the first one and its hedges), of
 * which the first to receive response headers wins; the others are cancelled at that moment,
 * before the winner writes a byte to the client.
 */
export interface RaceHost {
  /** `othersInFlight`: another leg of the race may still answer. */
  holdStatus(status: number, othersInFlight: boolean): boolean;
  responseHeaders(): readonly string[];
  /** A leg won; `losers` were cancelled for it (bookkeeping: metrics, suspicion). */
  decided(winner: Leg, losers: readonly Leg[]): void;
}

export class Race {
  readonly legs = new Set<Leg>();
  winner: Leg | undefined;
  readonly host: RaceHost;
  /** Called once the race is over (stops a wait for a reason to hedge). */
  onOver: (() => void) | undefined;

  constructor(host: RaceHost) {
    this.host = host;
  }

  claim(leg: Leg): boolean {
    if (this.winner) return this.winner === leg;
    this.winner = leg;
    const losers = [...this.legs].filter((other) => other !== leg && !other.over);
    for (const loser of losers) loser.cancel('another node answered first');
    this.host.decided(leg, losers);
    return true;
  }

  /** The request is over (decided, failed, or the client left): cancel whatever still runs. */
  cancelAll(detail: string): void {
    for (const leg of this.legs) leg.cancel(detail);
  }
}

/** One try of a race: the owner its attempt asks, and the handle to cancel it. */
export class Leg implements AttemptOwner {
  handle: AttemptHandle | undefined;
  /** Cancelled, or its outcome is known. */
  over = false;
  cancelled = false;

  constructor(
    readonly race: Race,
    readonly node: UpstreamNode,
    /** Sent as a hedge (not the request's first try). */
    readonly hedge: boolean,
    readonly startedAt: number,
  ) {
    race.legs.add(this);
  }

  holdStatus(status: number): boolean {
    const othersInFlight = [...this.race.legs].some((leg) => leg !== this && !leg.over);
    return this.race.host.holdStatus(status, othersInFlight);
  }

  responseHeaders(): readonly string[] {
    return this.race.host.responseHeaders();
  }

  claim(): boolean {
    return this.race.claim(this);
  }

  cancel(detail: string): void {
    if (this.over) return;
    this.over = true;
    this.cancelled = true;
    this.handle?.cancel(detail);
  }
}
