/**
 * When a heartbeat's timeout timer fires, is that a verdict on the node, or on us?
 *
 * A timer that fires much later than it was due means this process was stalled (a long GC, a
 * starved CPU on a busy host). Meanwhile a healthy node's answer may sit unread in its socket
 * (timers run before sockets are read on the next loop turn), or the request may not even have
 * been sent. Failing the heartbeat then ejects healthy nodes — every node at once, since all
 * their timers fire together after the stall. So a stalled timeout is extended by one timeout,
 * a bounded number of times, and judged again once the loop has read its sockets.
 */

/** Timers are routinely a few milliseconds late; only more than this is a stall. */
const MIN_STALL_MS = 20;

/** How many times one heartbeat's timeout may be extended: a hang is still found in bounded time. */
export const MAX_TIMEOUT_EXTENSIONS = 2;

export interface TimeoutFiring {
  /** When the timer was due and when it fired (monotonic ms). */
  readonly dueAt: number;
  readonly firedAt: number;
  readonly timeoutMs: number;
  /** Extensions already granted to this heartbeat. */
  readonly extensions: number;
}

export function timeoutVerdict(firing: TimeoutFiring): 'fail' | 'extend' {
  const late = firing.firedAt - firing.dueAt;
  const stalled = late > Math.max(MIN_STALL_MS, firing.timeoutMs / 2);
  return stalled && firing.extensions < MAX_TIMEOUT_EXTENSIONS ? 'extend' : 'fail';
}
