import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Pipelined requests are taken in turn, as NGINX does. Node parses every request a client
 * pipelines as soon as the bytes arrive, and queues their responses: a response gets the socket
 * (Node's 'socket' event) only once the responses before it are out. Until then nothing of the
 * request may reach an upstream: if an earlier answer closes the connection (an error with an
 * unread body, `Connection: close`), the queued requests are never answered, so the client
 * cannot know they ran and may send them again. Node also parses a request that arrives while
 * the connection is being closed after such an answer; that one's turn never comes either.
 */

export type Turn = 'now' | 'later' | 'never';

export function turnOf(res: ServerResponse, connection: Socket): Turn {
  if (connection.destroyed || !connection.writable) return 'never';
  return res.socket === null ? 'later' : 'now';
}

/** Who waits for a connection to close: one 'close' listener per connection, however deep the queue. */
const waiting = new WeakMap<Socket, Set<() => void>>();

function onConnectionClose(connection: Socket, callback: () => void): () => void {
  let callbacks = waiting.get(connection);
  if (!callbacks) {
    const set = new Set<() => void>();
    callbacks = set;
    waiting.set(connection, set);
    connection.once('close', () => {
      waiting.delete(connection);
      for (const each of set) each();
    });
  }
  callbacks.add(callback);
  return () => callbacks.delete(callback);
}

/** Resolves true when the response's turn comes, false when the connection closes first. */
export function turn(res: ServerResponse, connection: Socket): Promise<boolean> {
  const now = turnOf(res, connection);
  if (now !== 'later') return Promise.resolve(now === 'now');
  return new Promise((resolve) => {
    const onSocket = () => {
      forget();
      resolve(turnOf(res, connection) === 'now');
    };
    const forget = onConnectionClose(connection, () => {
      res.off('socket', onSocket);
      resolve(false);
    });
    res.once('socket', onSocket);
  });
}

/**
 * Calls `over` once the response is over: on its 'close', or, for a response whose turn never
 * came, when its connection closes (Node never emits 'close' on a response it never started).
 */
export function whenResponseOver(res: ServerResponse, over: () => void): void {
  // `on`, not `once` (which wraps the listener per call): a response closes once.
  res.on('close', over);
  if (res.socket !== null) return;
  void turn(res, res.req.socket as Socket).then(() => {
    if (res.socket !== null) return;
    res.off('close', over);
    over();
  });
}
