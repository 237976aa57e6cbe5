import type { AttemptOutcome } from '../vocabulary.ts';

/**
 * The decisions of an attempt, pure, with the time and byte counts passed in.
 *
 * Is a response still flowing? Asked by the attempt's timer once per period while the
 * response body streams to the client.
 *
 * A body whose upstream goes silent for longer than the response timeout is as broken as one
 * that stops, but only while the client keeps up: when the client applies backpressure, the
 * upstream is waiting for us, and its silence is not counted. A client that takes nothing for
 * the send timeout is the one stalled (NGINX's send_timeout).
 */

/** What the check remembers between two looks (kept on the attempt: no allocation). */
export interface StreamProgress {
  /** Upstream bytes read at the last look, and since when the upstream owes us more. */
  upstreamBytes: number;
  upstreamSince: number;
  /** Client bytes written at the last look, and since when the client owes us progress. */
  clientBytes: number;
  clientSince: number;
}

export interface StreamLook {
  readonly now: number;
  readonly upstreamBytes: number;
  readonly clientBytes: number;
  /** The client's side is full (the last write was refused until it drains). */
  readonly clientBehind: boolean;
  readonly responseTimeoutMs: number;
  readonly sendTimeoutMs: number;
}

export type StreamVerdict = 'flowing' | 'upstream-stalled' | 'client-stalled';

export function startWatching(progress: StreamProgress, now: number, upstreamBytes: number, clientBytes: number): void {
  progress.upstreamBytes = upstreamBytes;
  progress.upstreamSince = now;
  progress.clientBytes = clientBytes;
  progress.clientSince = now;
}

export function streamVerdict(progress: StreamProgress, look: StreamLook): StreamVerdict {
  if (!look.clientBehind || look.clientBytes !== progress.clientBytes) {
    progress.clientBytes = look.clientBytes;
    progress.clientSince = look.now;
  } else if (look.now - progress.clientSince >= look.sendTimeoutMs) return 'client-stalled';
  if (look.clientBehind || look.upstreamBytes !== progress.upstreamBytes) {
    progress.upstreamBytes = look.upstreamBytes;
    progress.upstreamSince = look.now;
  } else if (look.now - progress.upstreamSince >= look.responseTimeoutMs) return 'upstream-stalled';
  return 'flowing';
}

/**
 * A streamed request body is still going out. A slow client upload is not the upstream's
 * fault (the server's requestTimeout bounds the client); an upstream that stopped taking
 * bytes (our side is full and nothing went out since the last look) is.
 */
export function uploadStalled(bytesBefore: number, bytesNow: number, upstreamFull: boolean): boolean {
  return bytesNow === bytesBefore && upstreamFull;
}

/** What an error of the upstream request before any response means for the node. */
export function failureOutcome(connecting: boolean, error: NodeJS.ErrnoException, latencyMs: number): AttemptOutcome {
  const code = error.code ?? error.message;
  if (connecting) return { kind: 'connect', failed: true, latencyMs, detail: code };
  if (code.startsWith('HPE_')) return { kind: 'bad-response', failed: true, latencyMs, detail: code };
  return {
    kind: 'reset',
    failed: true,
    latencyMs,
    detail: code === 'ECONNRESET' ? 'connection reset before response' : code,
  };
}
