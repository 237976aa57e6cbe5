import type { Clock } from '../util/clock.ts';
import type { UpstreamNode } from './upstream-node.ts';

/** Removed nodes are disposed once idle, checked this often, and after this long at most. */
export const RETIRE_POLL_MS = 100;
export const RETIRE_WAIT_MS = 5 * 60_000;

/**
 * Nodes a reload removed: they stop being probed at once and are disposed once their
 * in-flight requests are done (or after RETIRE_WAIT_MS), so a reload never cuts a request off.
 * Polled on the clock.
 */
export class Retirement {
  readonly #clock: Clock;
  /** Disposals waiting for removed nodes to finish their in-flight requests. */
  readonly #waiting = new Set<() => void>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Stops probing `nodes` now; calls `dispose` once they are idle. */
  retire(nodes: readonly UpstreamNode[], dispose: () => void): void {
    for (const node of nodes) node.stopProbing();
    const finish = () => {
      this.#waiting.delete(finish);
      dispose();
    };
    this.#waiting.add(finish);
    const waitUntilIdle = (waited: number) => {
      if (!this.#waiting.has(finish)) return;
      if (nodes.every((node) => node.inflight === 0) || waited >= RETIRE_WAIT_MS) return finish();
      this.#clock.schedule(RETIRE_POLL_MS, () => waitUntilIdle(waited + RETIRE_POLL_MS));
    };
    waitUntilIdle(0);
  }

  /** The gateway stops: every disposal waiting runs now. */
  finishAll(): void {
    for (const finish of [...this.#waiting]) finish();
  }
}
