import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import type { Attempt } from './attempt.ts';

/**
 * The listeners of every attempt. Each is one shared function: `this` is the emitter, which
 * carries its attempt under a symbol, so no closure is made per request.
 */

export const attemptOf = Symbol('baton.attempt');
export type Tagged = { [attemptOf]?: Attempt };

export function onClientClose(this: ServerResponse & Tagged): void {
  this[attemptOf]?.clientClosed();
}
export function onClientFinish(this: ServerResponse & Tagged): void {
  this[attemptOf]?.end();
}
export function onUpstreamSocket(this: ClientRequest & Tagged, socket: Socket): void {
  this[attemptOf]?.socketAssigned(socket);
}
export function onUpstreamConnect(this: Socket & Tagged): void {
  this[attemptOf]?.connected();
}
export function onUpstreamResponse(this: ClientRequest & Tagged, proxyRes: IncomingMessage): void {
  const attempt = this[attemptOf];
  if (attempt) attempt.response(proxyRes);
  else proxyRes.destroy();
}
export function onUpstreamUpgrade(
  this: ClientRequest & Tagged,
  proxyRes: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  const attempt = this[attemptOf];
  if (attempt) attempt.upgraded(proxyRes, socket, head);
  else socket.destroy();
}
// Stays attached after the attempt ends: a late error must never become an uncaught exception.
export function onUpstreamError(this: ClientRequest & Tagged, error: NodeJS.ErrnoException): void {
  this[attemptOf]?.requestFailed(error);
}
export function onRequestSent(this: ClientRequest & Tagged): void {
  this[attemptOf]?.requestSent();
}
export function onBodySourceError(this: Readable & Tagged): void {
  this[attemptOf]?.abort();
}
/** A held-back response was drained (its connection can be reused) or broke. */
export function onHeldResponseOver(this: IncomingMessage & Tagged): void {
  this[attemptOf]?.end();
}
export function onBodyError(this: IncomingMessage & Tagged): void {
  this[attemptOf]?.bodyFailed();
}
export function onBodyClose(this: IncomingMessage & Tagged): void {
  if (!this.complete) this[attemptOf]?.bodyFailed();
}
/**
 * Timers run before I/O in each turn of the event loop: after the loop was blocked (GC, a busy
 * machine), a timeout would fire before the bytes that arrived meanwhile are read. Decide
 * after this turn's I/O instead.
 */
export function onTimer(attempt: Attempt): void {
  setImmediate(onTimerAfterIo, attempt, attempt.armed);
}
export function onTimerAfterIo(attempt: Attempt, armed: number): void {
  // Re-armed meanwhile (connected, response started, request sent): that timer decides.
  if (armed === attempt.armed) attempt.timedOut();
}
