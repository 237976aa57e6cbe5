import type { Agent, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { AttemptOutcome } from '../vocabulary.ts';
import { Attempt } from './attempt.ts';
import type { ProxyTarget } from './target.ts';
import type { TunnelTag, WebSocketTunnels } from './websocket.ts';

/**
 * One forwarding attempt: send the request to one node, and either stream the response to the
 * client or, when the caller may retry, hold it back; for a websocket handshake, open the
 * tunnel. Resolves as soon as the outcome is known (response headers, a 101, or an error);
 * `done` settles when the attempt has no more work (the response is over, the tunnel closed).
 */

/** What the attempt asks its caller while it runs. */
export interface AttemptOwner {
  /** True: this status is not passed to the client because the caller will retry elsewhere. */
  holdStatus(status: number): boolean;
  /** Extra response headers for the client, flat [name, value, …]; asked when the response starts. */
  responseHeaders(): readonly string[];
  /**
   * Set when this attempt races others (a hedged request): asked when its response headers
   * arrive, before any byte goes to the client. True: this attempt won, and the others are
   * cancelled now. False: another one won; this one is cancelled.
   */
  claim?(): boolean;
}

/** A running attempt that may be cancelled (a hedge race's loser). */
export interface AttemptHandle {
  readonly result: Promise<AttemptResult>;
  /** Stops the attempt now (the upstream request is aborted); a no-op once it committed or ended. Never a failure of the node. */
  cancel(detail: string): void;
}

export interface AttemptSpec {
  readonly target: ProxyTarget;
  readonly agent: Agent;
  readonly method: string;
  /** Origin-form path and query for the node (after stripPath), without the node's base path. */
  readonly path: string;
  /** Sent as they are: the caller has done the hygiene and set the framing headers for `body`. */
  readonly headers: OutgoingHttpHeaders;
  /** A buffered body (replayable), a stream (sent once), or none. */
  readonly body: Buffer | Readable | undefined;
  readonly connectTimeoutMs: number;
  /** Until the response headers once the request is sent, and the longest upstream pause inside the body. */
  readonly responseTimeoutMs: number;
  /** The longest the client may take to accept more of the response (when it applies backpressure). */
  readonly sendTimeoutMs: number;
  readonly owner: AttemptOwner;
  /** Set for a websocket handshake: a 101 opens a tunnel that belongs to this pool and node. */
  readonly tunnel: TunnelSpec | undefined;
}

export interface TunnelSpec extends TunnelTag {
  /** Bytes the client sent after its handshake, passed on once the tunnel is open. */
  readonly head: Buffer;
}

export interface AttemptResult {
  readonly outcome: AttemptOutcome;
  /** Response bytes went to the client: this request can no longer be retried or answered. */
  readonly committed: boolean;
  /** Settles when the attempt has no more work (the response streamed, failed or was dropped). */
  readonly done: Promise<void>;
}

export class Forwarder {
  readonly tunnels: WebSocketTunnels;

  constructor(tunnels: WebSocketTunnels) {
    this.tunnels = tunnels;
  }

  /** `res` is the client's response (for a handshake, one bound to the upgraded socket). */
  forward(res: ServerResponse, spec: AttemptSpec): Promise<AttemptResult> {
    return new Promise((resolve) => new Attempt(res, spec, this.tunnels, resolve).start());
  }

  /** The same, with a handle to cancel the attempt (hedged requests). */
  begin(res: ServerResponse, spec: AttemptSpec): AttemptHandle {
    let attempt!: Attempt;
    const result = new Promise<AttemptResult>((resolve) => (attempt = new Attempt(res, spec, this.tunnels, resolve)));
    attempt.start();
    return new RunningAttempt(result, attempt);
  }
}

/** A class, not an object literal with a closure: one per hedgeable request. */
class RunningAttempt implements AttemptHandle {
  readonly result: Promise<AttemptResult>;
  readonly #attempt: Attempt;

  constructor(result: Promise<AttemptResult>, attempt: Attempt) {
    this.result = result;
    this.#attempt = attempt;
  }

  cancel(detail: string): void {
    this.#attempt.cancel(detail);
  }
}
