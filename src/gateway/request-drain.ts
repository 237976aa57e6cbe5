import type { ServerResponse } from 'node:http';
import { whenResponseOver } from '../pipeline/in-turn.ts';
import type { Clock } from '../util/clock.ts';

/**
 * The client requests in flight on this gateway, and the graceful stop that waits for them:
 * once draining, responses say `Connection: close`, and stop() goes on when the last one is
 * over or the drain timeout passes, whichever is first.
 */
export class RequestDrain {
  readonly #clock: Clock;
  #inflight = 0;
  #draining = false;
  #drained: (() => void) | undefined;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get inflight(): number {
    return this.#inflight;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** A request arrived: counted until its response is over (sent, or its client gone). */
  track(res: ServerResponse): void {
    this.#inflight += 1;
    whenResponseOver(res, this.#over);
  }

  // One listener for every response (not a closure each): it needs nothing of the response.
  readonly #over = (): void => {
    this.#inflight -= 1;
    if (this.#draining && this.#inflight === 0) this.#drained?.();
  };

  /** Starts draining; resolves when no request is in flight, or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void> {
    this.#draining = true;
    if (this.#inflight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#drained = resolve;
      this.#clock.schedule(timeoutMs, resolve);
    });
  }
}
