import http2 from 'node:http2';

/**
 * Resets of HTTP/2 streams that the gateway makes, told apart from the client's own. node
 * emits 'aborted' for both, and only the client's count towards server.http2.maxResets (a
 * client whose upstream died mid-answer, or that was too slow, did not flood anyone). The mark
 * is a symbol on the stream itself, like the attempt's own tags: it lives and dies with it.
 */

const resetHere = Symbol('baton.resetByGateway');

interface ClosableStream {
  readonly closed: boolean;
  readonly destroyed: boolean;
  close(code?: number): void;
}

type Marked = ClosableStream & { [resetHere]?: true };

/** Whatever ends `stream` from now on is the gateway's doing, not the client's. */
export function markResetByGateway(stream: object): void {
  (stream as Marked)[resetHere] = true;
}

/** Resets `stream` with `code` (RST_STREAM), marked as the gateway's. */
export function resetStream(stream: ClosableStream, code: number): void {
  markResetByGateway(stream);
  if (stream.closed || stream.destroyed) return;
  stream.close(code);
}

export function resetByGateway(stream: object): boolean {
  return (stream as Marked)[resetHere] === true;
}

/**
 * The codes the gateway resets with: CANCEL for a stream it gives up on (the client is too slow,
 * or late with its request), INTERNAL_ERROR for an answer it cannot finish (the upstream failed
 * mid-body) — never NO_ERROR once an answer started, which a client may take for a complete
 * (short) response.
 */
export const { NGHTTP2_CANCEL: RESET_CANCEL, NGHTTP2_INTERNAL_ERROR: RESET_INCOMPLETE } = http2.constants;
