import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { BatonError } from '../util/errors.ts';

/**
 * The request body as the attempt loop needs it: buffered (replayable on another node) when it
 * is small enough, streamed otherwise. A stream cannot be replayed, so a retry is then only
 * possible before the first try.
 */
export type RequestBody =
  | { readonly kind: 'none' }
  | { readonly kind: 'buffered'; readonly data: Buffer }
  | { readonly kind: 'stream'; readonly stream: Readable | undefined };

export interface BodyLimits {
  /** Largest body kept for replay. 0: never buffer. */
  readonly bufferLimit: number;
  /** Largest body accepted at all; false for no limit. */
  readonly maxBody: number | false;
  /** Called when the body will be streamed without a known length (it may turn out too large). */
  readonly onStream: () => void;
  /** Called when such a streamed body passes maxBody, to abort the upstream. */
  readonly onTooLarge: () => void;
}

export async function readRequestBody(req: IncomingMessage, limits: BodyLimits): Promise<RequestBody> {
  const lengthHeader = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  const length = lengthHeader === undefined ? undefined : Number(lengthHeader);
  if (!chunked && (length === undefined || length === 0)) return { kind: 'none' };
  // Refuse before reading a byte when the client says up front that the body is too large.
  if (length !== undefined && limits.maxBody !== false && length > limits.maxBody) throw new BatonError('BODY_TOO_LARGE');
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
    if (size > limits.bufferLimit) {
      limits.onStream();
      return { kind: 'stream', stream: Readable.from(rest(chunks, size, iterator, limits)) };
    }
  }
}

/** What was read so far, then the rest of the request, counting against maxBody. */
async function* rest(read: Buffer[], readSize: number, iterator: AsyncIterator<unknown>, limits: BodyLimits): AsyncGenerator<Buffer> {
  let size = readSize;
  yield* read;
  for (;;) {
    const next = await iterator.next();
    if (next.done) return;
    const chunk = next.value as Buffer;
    size += chunk.length;
    if (limits.maxBody !== false && size > limits.maxBody) {
      limits.onTooLarge();
      return;
    }
    yield chunk;
  }
}
