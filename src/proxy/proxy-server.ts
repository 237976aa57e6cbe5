import type { ClientRequest, IncomingMessage, ServerResponse, Agent } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import httpProxy from 'http-proxy';

/**
 * The only module that imports http-proxy. It sends the request (and the websocket
 * handshake); everything http-proxy gets wrong or leaves out is done by our callers:
 * response handling (selfHandleResponse), header hygiene, timeouts, client-abort
 * propagation and error classification. Each call carries a `hooks` object that http-proxy
 * copies into its per-request options, which is how its events find their call again.
 */

export interface ProxyTarget {
  readonly protocol: string;
  readonly hostname: string;
  readonly host: string;
  readonly port: string;
  /** Base path of the node URL ('' for none); http-proxy prefixes it to the request path. */
  readonly path: string;
}

/** Precomputed once per node: avoids url.parse on every request. */
export function proxyTarget(url: URL): ProxyTarget {
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  return {
    protocol: url.protocol,
    hostname,
    host: hostname,
    port: url.port || (url.protocol === 'https:' ? '443' : '80'),
    path: url.pathname === '/' ? '' : url.pathname.replace(/\/$/, ''),
  };
}

export interface WebHooks {
  /** The upstream request exists and has a socket (not yet necessarily connected). */
  onRequest(proxyReq: ClientRequest): void;
  onError(error: NodeJS.ErrnoException): void;
}

export interface WsHooks {
  onRequest(proxyReq: ClientRequest): void;
  onUpgrade(proxySocket: Duplex): void;
  onError(error: NodeJS.ErrnoException): void;
}

export interface WebCall {
  readonly target: ProxyTarget;
  readonly agent: Agent;
  /** A replayable body; without one, http-proxy streams `req` itself. */
  readonly body?: Readable;
  readonly headers?: Record<string, string>;
  readonly hooks: WebHooks;
}

type HookedOptions = httpProxy.ServerOptions & { batonHooks?: WebHooks | WsHooks };

export class ProxyServer {
  readonly #proxy = httpProxy.createProxyServer({
    selfHandleResponse: true,
    xfwd: false,
    changeOrigin: false,
    ws: false,
  });

  constructor(onStrayError: (error: Error) => void) {
    this.#proxy.on('proxyReq', (proxyReq: ClientRequest, _req: IncomingMessage, _res: ServerResponse, options: HookedOptions) => {
      options.batonHooks?.onRequest(proxyReq);
    });
    this.#proxy.on('proxyReqWs', (proxyReq: ClientRequest, _req: IncomingMessage, _socket: Duplex, options: HookedOptions) => {
      const hooks = options.batonHooks as WsHooks | undefined;
      hooks?.onRequest(proxyReq);
      proxyReq.on('upgrade', (_res: IncomingMessage, proxySocket: Duplex) => hooks?.onUpgrade(proxySocket));
    });
    // Every call passes its own error callback; this listener only keeps an unexpected
    // error from becoming an uncaught exception (http-proxy throws without one).
    this.#proxy.on('error', (error: Error) => onStrayError(error));
    // Emitted instead of the callback when the client socket is already gone; the caller
    // has seen the client close and cleans up there.
    this.#proxy.on('econnreset', () => {});
  }

  /** One listener for every request's upstream response (http-proxy emits it per request). */
  onResponse(listener: (proxyRes: IncomingMessage, res: ServerResponse) => void): void {
    this.#proxy.on('proxyRes', (proxyRes: IncomingMessage, _req: IncomingMessage, res: ServerResponse) => listener(proxyRes, res));
  }

  web(req: IncomingMessage, res: ServerResponse, call: WebCall): void {
    const options: HookedOptions = {
      target: call.target as unknown as httpProxy.ProxyTargetUrl,
      agent: call.agent,
      headers: call.headers,
      batonHooks: call.hooks,
    };
    if (call.body) options.buffer = call.body;
    this.#proxy.web(req, res, options, (error: Error) => call.hooks.onError(error as NodeJS.ErrnoException));
  }

  ws(req: IncomingMessage, socket: Duplex, head: Buffer, target: ProxyTarget, agent: Agent, hooks: WsHooks): void {
    const options: HookedOptions = { target: target as unknown as httpProxy.ProxyTargetUrl, agent, batonHooks: hooks };
    this.#proxy.ws(req, socket, head, options, (error: Error) => hooks.onError(error as NodeJS.ErrnoException));
  }

  close(): void {
    this.#proxy.close();
  }
}
