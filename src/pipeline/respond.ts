import type { IncomingMessage, ServerResponse } from 'node:http';
import { isHttp2, responseGone } from '../proxy/client-response.ts';
import { errorBody, errorTable, type ErrorCode } from '../util/errors.ts';

/**
 * Writes one of the gateway's own error responses directly (Koa's response handling is off for
 * proxied requests, so both paths answer the same way). Does nothing if headers already went.
 * When the request body has not been read to its end, the connection is closed after the
 * answer: what the client still sends cannot be read as its next request.
 */
export function sendError(
  res: ServerResponse,
  code: ErrorCode,
  options: { requestId?: string; detail?: string; headers?: Record<string, string>; close?: boolean } = {},
): void {
  if (res.headersSent || responseGone(res)) return;
  const body = JSON.stringify(errorBody(code, options.detail, options.requestId));
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...options.headers,
  };
  if (options.requestId) headers['x-request-id'] = options.requestId;
  // HTTP/2 has no Connection header (node refuses it): an unread body's stream is reset instead.
  if ((options.close || unreadBody(res.req)) && !isHttp2(res)) headers.connection = 'close';
  res.writeHead(errorTable[code].status, headers);
  res.end(body);
}

function unreadBody(req: IncomingMessage | undefined): boolean {
  if (!req || req.complete) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** A `redirect: 'https'` route's answer: 308 keeps the method and body, as 301 does not for POST. */
export function sendRedirect(res: ServerResponse, location: string, requestId: string): void {
  if (res.headersSent || responseGone(res)) return;
  const headers: Record<string, string | number> = { location, 'content-length': 0, 'x-request-id': requestId };
  if (unreadBody(res.req) && !isHttp2(res)) headers.connection = 'close';
  res.writeHead(308, headers);
  res.end();
}
