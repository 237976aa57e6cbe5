import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { verifiedPeerSubject } from '../listen/tls.ts';
import type { AttemptOutcome } from '../policy/types.ts';
import type { Pool } from '../pool/pool.ts';
import type { UpstreamNode } from '../pool/upstream-node.ts';
import type { Forwarder } from '../proxy/forwarder.ts';
import { upstreamHeaders } from '../proxy/headers.ts';
import type { Clock } from '../util/clock.ts';
import { DueQueue } from '../util/due-queue.ts';
import { BatonError } from '../util/errors.ts';
import { AttemptLoop } from './attempt-loop.ts';
import { declaredFraming, frameBody, type RequestBody } from './request-body.ts';
import type { Step } from './state.ts';
import { handshakeHead } from './upgrade.ts';

export interface ForwardDeps {
  readonly forwarder: Forwarder;
  readonly clock: Clock;
  readonly draining: () => boolean;
  /** After every attempt (metrics). */
  readonly onAttempt?: (pool: Pool, node: UpstreamNode, outcome: AttemptOutcome, retry: boolean) => void;
  /** A hedge was sent to `node`, won on it, or an attempt on it was cancelled because another won (metrics). */
  readonly onHedge?: (pool: Pool, node: UpstreamNode, event: HedgeEvent) => void;
}

export type HedgeEvent = 'sent' | 'won' | 'cancelled' | 'rescued';

const noBody: RequestBody = { kind: 'none' };

/**
 * The last step: the upstream headers (hygiene, then the framing of the body), the body, and
 * the attempt loop. A websocket handshake takes exactly this path; its attempts open a tunnel.
 */
export function forward(deps: ForwardDeps): Step {
  const dueQueue = new DueQueue(deps.clock);
  return async (ctx) => {
    ctx.respond = false;
    const state = ctx.state;
    const req = ctx.req as IncomingMessage & { [handshakeHead]?: Buffer };
    const head = req[handshakeHead];
    if (head && deps.draining()) throw new BatonError('SHUTTING_DOWN');
    const peer = req.socket.remoteAddress ?? '';
    const listener = state.listener;
    const outgoing = upstreamHeaders(req, {
      peer,
      trusted: state.trusted.trusts(peer),
      proto: listener.secure ? 'https' : 'http',
      requestId: state.requestId,
      upgrade: head !== undefined,
      clientSubject: listener.clientCertificates ? verifiedPeerSubject(req.socket as TLSSocket) : undefined,
    });
    if (!outgoing) throw new BatonError('BAD_REQUEST', 'the Connection header lists a framing header');
    const framing = declaredFraming(req);
    // The server does not parse what follows a handshake: a body there would become tunnel data.
    if (head && framing !== 'none') throw new BatonError('BAD_REQUEST', 'a websocket handshake has no body');
    const loop = new AttemptLoop(ctx, deps, outgoing, head, dueQueue);
    const body = framing === 'none' ? noBody : await loop.readBody(framing);
    frameBody(outgoing, body);
    await loop.run(body);
  };
}
