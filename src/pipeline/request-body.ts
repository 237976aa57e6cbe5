import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { BatonError } from '../util/errors.ts';

/**
 * The request body as the attempt loop needs it: buffered (replayable on another node) when it
 * is small enough, streamed otherwise. A stream cannot be replayed, so a retry is then only
 * possible before the first try.
 *
 * And how it is framed upstream, whatever the method: a buffered body with its exact
 * Content-Length; a streamed one with the client's Content-Length when it declared one (Node's
 * parser delivered exactly that many bytes), with `Transfer-Encoding: chunked` otherwise.
 * Node's client sends GET, HEAD, DELETE and OPTIONS bodies unframed unless told, and an
 * unframed body is read by the upstream as the next request on the connection.
 */
export type RequestBody =
  | { readonly kind: 'none' }
  | { readonly kind: 'buffered'; readonly data: Buffer }
  /** `stream` undefined: the client's request itself, unread. */
  | { readonly kind: 'stream'; readonly stream: Readable | undefined };

/** How the client framed its body: none, a Content-Length, or chunks. */
export type Framing = 'none' | 'length' | 'chunked';

/**
 * Node's parser accepts any transfer coding list that ends in `chunked` and removes only the
 * chunking: a `gzip, chunked` body would reach the upstream still gzipped but unlabelled.
 * Like NGINX, only `chunked` alone is accepted (501 otherwise).
 */
export function declaredFraming(req: IncomingMessage): Framing {
  // HTTP/2 frames bodies itself (DATA frames, END_STREAM): a request without Content-Length
  // has a body unless its HEADERS ended the stream. Upstream it is sent chunked.
  if (req.httpVersionMajor === 2) {
    const length = req.headers['content-length'];
    if (length !== undefined) return length === '0' ? 'none' : 'length';
    return (req as IncomingMessage & { stream?: { endAfterHeaders: boolean } }).stream?.endAfterHeaders
      ? 'none'
      : 'chunked';
  }
  const coding = req.headers['transfer-encoding'];
  if (coding !== undefined) {
    if (coding !== 'chunked' && coding.trim().toLowerCase() !== 'chunked')
      throw new BatonError('UNSUPPORTED_TRANSFER_CODING', coding);
    return 'chunked';
  }
  const length = req.headers['content-length'];
  return length === undefined || length === '0' ? 'none' : 'length';
}

/** Sets the upstream framing headers for `body` (transfer-encoding never comes from the client). */
export function frameBody(headers: OutgoingHttpHeaders, body: RequestBody): void {
  if (body.kind === 'buffered') headers['content-length'] = String(body.data.length);
  else if (body.kind === 'stream' && headers['content-length'] === undefined) headers['transfer-encoding'] = 'chunked';
}

export interface BodyLimits {
  /** Largest body kept for replay. 0: never buffer. */
  readonly bufferLimit: number;
  /** Largest body accepted at all; false for no limit. */
  readonly maxBody: number | false;
  /** Called when a streamed body passes maxBody; the stream then fails, so nothing upstream takes it for complete. */
  readonly onTooLarge: () => void;
}

export async function readRequestBody(
  req: IncomingMessage,
  framing: Framing,
  limits: BodyLimits,
): Promise<RequestBody> {
  if (framing === 'none') return { kind: 'none' };
  const length = framing === 'length' ? Number(req.headers['content-length']) : undefined;
  // Refuse before reading a byte when the client says up front that the body is too large.
  if (length !== undefined && limits.maxBody !== false && length > limits.maxBody)
    throw new BatonError('BODY_TOO_LARGE');
  if (length !== undefined && length > limits.bufferLimit) return { kind: 'stream', stream: undefined };

  const chunks: Buffer[] = [];
  let size = 0;
  const iterator = req[Symbol.asyncIterator]();
  for (;;) {
    const next = await iterator.next();
    if (next.done) return { kind: 'buffered', data: Buffer.concat(chunks, size) };
    const chunk = next.value as Buffer;
    chunks.push(chunk);
    size += chunk.length;
    if (limits.maxBody !== false && size > limits.maxBody) throw new BatonError('BODY_TOO_LARGE');
    if (size > limits.bufferLimit)
      return { kind: 'stream', stream: Readable.from(rest(chunks, size, iterator, limits)) };
  }
}

/** What was read so far, then the rest of the request, counting against maxBody. */
async function* rest(
  read: Buffer[],
  readSize: number,
  iterator: AsyncIterator<unknown>,
  limits: BodyLimits,
): AsyncGenerator<Buffer> {
  let size = readSize;
  yield* read;
  for (;;) {
    const next = await iterator.next();
    if (next.done) return;
    const chunk = next.value as Buffer;
    size += chunk.length;
    if (limits.maxBody !== false && size > limits.maxBody) {
      limits.onTooLarge();
      throw new BatonError('BODY_TOO_LARGE');
    }
    yield chunk;
  }
}
