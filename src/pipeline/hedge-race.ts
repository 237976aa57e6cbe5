import type { UpstreamNode } from '../pool/upstream-node.ts';
import type { AttemptHandle, AttemptOwner, AttemptResult } from '../proxy/forwarder.ts';
import type { DueEntry } from '../util/due-queue.ts';

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
  readonly legs: Leg[] = [];
  winner: Leg | undefined;
  readonly host: RaceHost;
  /** How long a leg waits for response headers before the next hedge; undefined: only a rescue. */
  readonly delayMs: number | undefined;
  /** Called once the race is over (stops a wait for a reason to hedge). */
  onOver: (() => void) | undefined;
  /** The wait for the next hedge, while one is armed. */
  timer: DueEntry | undefined;
  /** Resolved (a leg committed, every leg failed, or the request is over): nothing more starts. */
  finished = false;
  /** Legs whose outcome is not known yet. */
  pending = 0;
  /** The winner's result, or the last failure when every leg failed. */
  readonly result: Promise<AttemptResult>;
  #resolve!: (result: AttemptResult) => void;

  constructor(host: RaceHost, delayMs: number | undefined) {
    this.host = host;
    this.delayMs = delayMs;
    this.result = new Promise<AttemptResult>((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** Ends the race with `result`: the armed hedge and every leg still running are cancelled. */
  finish(result: AttemptResult): void {
    this.finished = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.onOver?.();
    this.cancelAll(result.committed ? 'another node answered first' : 'the request is over');
    this.#resolve(result);
  }

  claim(leg: Leg): boolean {
    if (this.winner) return this.winner === leg;
    this.winner = leg;
    const losers = this.legs.filter((other) => other !== leg && !other.over);
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
    race.legs.push(this);
  }

  holdStatus(status: number): boolean {
    const othersInFlight = this.race.legs.some((leg) => leg !== this && !leg.over);
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
