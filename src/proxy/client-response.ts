import type { ServerResponse } from 'node:http';
import { RESET_CANCEL, RESET_INCOMPLETE, resetStream } from '../listen/stream-resets.ts';

/**
 * What the gateway asks of a client response, for both kinds it gets: node:http's
 * ServerResponse (HTTP/1.1) and node:http2's compatibility Http2ServerResponse, which lacks
 * `destroyed` and `writableNeedDrain`, reports `writableFinished` once its stream is closed
 * (a reset stream included), and shares its socket with every other stream of the connection.
 */

interface Http2Stream {
  readonly destroyed: boolean;
  readonly closed: boolean;
  readonly writableNeedDrain: boolean;
  readonly rstCode: number | undefined;
  close(code?: number): void;
}

type Response = ServerResponse & { readonly stream?: Http2Stream };

export function isHttp2(res: ServerResponse): boolean {
  return (res as Response).stream !== undefined;
}

/** The client can no longer receive this response. */
export function responseGone(res: ServerResponse): boolean {
  const stream = (res as Response).stream;
  return stream ? stream.destroyed : res.destroyed;
}

/** The whole response reached the client's connection (HTTP/2: the stream ended without a reset). */
export function responseComplete(res: ServerResponse): boolean {
  const stream = (res as Response).stream;
  return stream ? res.writableEnded && (stream.rstCode ?? 0) === 0 : res.writableFinished;
}

/** The client does not take the response as fast as it comes. */
export function clientBehind(res: ServerResponse): boolean {
  const stream = (res as Response).stream;
  return stream ? stream.writableNeedDrain : res.writableNeedDrain;
}

/**
 * Drops a client that stopped reading. HTTP/1.1: a reset, not a FIN (a FIN would wait behind
 * the bytes the client does not read, holding the connection's buffers in the kernel).
 * HTTP/2: resets this stream only; the connection's other streams go on.
 */
export function cutOffClient(res: ServerResponse): void {
  const stream = (res as Response).stream;
  if (stream) resetStream(stream, RESET_CANCEL);
  else res.socket?.resetAndDestroy();
}

/**
 * An answer that started and cannot be finished (the upstream failed mid-body, an error after
 * the headers): the client must see it broken, never a clean short one. HTTP/1.1: its
 * connection is destroyed (no final chunk, a short Content-Length). HTTP/2: the stream is reset
 * with INTERNAL_ERROR; a plain destroy would reset it with NO_ERROR, which clients take for the
 * end of a complete response.
 */
export function abortResponse(res: ServerResponse): void {
  const stream = (res as Response).stream;
  if (stream) resetStream(stream, RESET_INCOMPLETE);
  else res.destroy();
}
