/**
 * The slow-client deadlines of HTTP/2, pure, with the time and counts passed in. HTTP/1.1 gets
 * them from node's http.Server (headersTimeout, requestTimeout) and from the attempt
 * (sendTimeout, on the connection's bytes); node:http2 has none of them, and an HTTP/2 stream
 * shares its connection with others, so they are kept per stream (and per header block) here.
 */

export interface StreamTimeouts {
  /** A header block (HEADERS and its CONTINUATIONs) must be complete within this. */
  readonly headersTimeoutMs: number;
  /** A stream's request (its body to END_STREAM) must be complete within this of its HEADERS. */
  readonly requestTimeoutMs: number;
  /** A stream with response bytes waiting that the client takes none of for this long is reset. */
  readonly sendTimeoutMs: number;
}

/** What the check of one stream remembers between two looks. */
export interface StreamWatch {
  readonly openedAt: number;
  requestComplete: boolean;
  /** Response bytes queued on the stream at the last look, and the drains seen by then. */
  queued: number;
  drains: number;
  /** Since when the client owes us progress (the last look it had taken something or owed nothing). */
  sendSince: number;
}

export interface StreamLook {
  readonly now: number;
  /** END_STREAM arrived from the client. */
  readonly requestComplete: boolean;
  /** Response bytes written to the stream that the client has not taken yet. */
  readonly queued: number;
  /** How many times the stream's queue drained so far (monotonic). */
  readonly drains: number;
}

export type StreamVerdict = 'ok' | 'request-late' | 'send-stalled';

export function watchStream(now: number): StreamWatch {
  return { openedAt: now, requestComplete: false, queued: 0, drains: 0, sendSince: now };
}

/**
 * Progress, as on HTTP/1.1 (attempt-rules' streamVerdict), is the client taking bytes: with
 * bytes waiting, the queue got shorter or drained since the last look. A queue that only grows
 * is the writer adding to what the client does not take (its flow-control window is 0).
 */
export function streamVerdict(watch: StreamWatch, look: StreamLook, timeouts: StreamTimeouts): StreamVerdict {
  if (look.requestComplete) watch.requestComplete = true;
  else if (!watch.requestComplete && look.now - watch.openedAt >= timeouts.requestTimeoutMs) return 'request-late';
  if (look.queued === 0 || look.queued < watch.queued || look.drains !== watch.drains) watch.sendSince = look.now;
  watch.queued = look.queued;
  watch.drains = look.drains;
  if (look.queued > 0 && look.now - watch.sendSince >= timeouts.sendTimeoutMs) return 'send-stalled';
  return 'ok';
}

/** What the header-block check of one connection remembers between two looks. */
export interface HeaderBlockWatch {
  /** The stream whose header block was seen incomplete, 0 for none, and since when. */
  pendingId: number;
  since: number;
}

/**
 * node:http2 tells nothing of a header block until it is complete (the 'stream' event), but
 * nghttp2's last processed stream id moves on as soon as a block's HEADERS frame opens a
 * stream: an id past the last one known complete (`settledId`: announced, or shown complete
 * otherwise, see http2.ts) is a block still arriving (CONTINUATION frames). True when that
 * block has been incomplete for the headers timeout.
 */
export function headerBlockLate(
  watch: HeaderBlockWatch,
  now: number,
  begunId: number,
  settledId: number,
  headersTimeoutMs: number,
): boolean {
  if (begunId <= settledId) {
    watch.pendingId = 0;
    return false;
  }
  if (watch.pendingId !== begunId) {
    watch.pendingId = begunId;
    watch.since = now;
    return false;
  }
  return now - watch.since >= headersTimeoutMs;
}

/** How often the deadlines are checked: a quarter of the shortest, at least once a second (and at most every 10 ms). */
export function checkPeriodMs(timeouts: StreamTimeouts): number {
  const shortest = Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs, timeouts.sendTimeoutMs);
  return Math.min(1000, Math.max(10, Math.floor(shortest / 4)));
}
