/**
 * Every error that reaches a client or an operator comes from this table: a stable code
 * (clients and dashboards match on it), the HTTP status, and a message for humans.
 */
export const errorTable = {
  // Client-facing, data path.
  NO_ROUTE: { status: 404, message: 'No route matches this request' },
  BAD_REQUEST: { status: 400, message: 'Malformed request' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'This method is not allowed through the gateway' },
  BODY_TOO_LARGE: { status: 413, message: 'Request body exceeds the route limit' },
  UNSUPPORTED_TRANSFER_CODING: {
    status: 501,
    message: 'Only the chunked transfer coding is supported for request bodies',
  },
  NO_NODE_AVAILABLE: { status: 503, message: 'No upstream node is available' },
  UPSTREAM_CONNECT: { status: 502, message: 'Could not connect to an upstream node' },
  UPSTREAM_RESET: { status: 502, message: 'Upstream closed the connection before responding' },
  UPSTREAM_BAD_RESPONSE: { status: 502, message: 'Upstream sent an invalid response' },
  UPSTREAM_TIMEOUT: { status: 504, message: 'Upstream did not respond in time' },
  GATEWAY_DEADLINE: { status: 504, message: 'Request deadline passed before an upstream answered' },
  SHUTTING_DOWN: { status: 503, message: 'Gateway is shutting down' },
  INTERNAL: { status: 500, message: 'Internal gateway error' },
  // Admin API.
  UNAUTHORIZED: { status: 401, message: 'A bearer token is required' },
  FORBIDDEN: { status: 403, message: 'The bearer token is not valid' },
  NOT_FOUND: { status: 404, message: 'Not found' },
  POOL_NOT_FOUND: { status: 404, message: 'No such pool' },
  NODE_NOT_FOUND: { status: 404, message: 'No such node in this pool' },
  NOT_ACTIVE_PASSIVE: { status: 409, message: 'This pool has no active node (not an active-passive policy)' },
  FAILOVER_REFUSED: { status: 409, message: 'The failover could not be applied' },
  INVALID_BODY: { status: 400, message: 'The request body is not valid' },
  HOST_NOT_ALLOWED: { status: 403, message: 'The admin API does not answer to this Host (see admin.allowedHosts)' },
  CROSS_ORIGIN: { status: 403, message: 'Calls from another origin (a web page) may not change the gateway' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'Mutating admin calls take a JSON body (content-type: application/json) or none',
  },
  TOO_MANY_STREAMS: { status: 503, message: 'Too many event streams are open (admin.maxEventStreams)' },
  INVALID_QUERY: { status: 400, message: 'A query parameter is not valid' },
  STORE_UNAVAILABLE: {
    status: 503,
    message: 'The shared state store is unreachable, and this change is made only through it',
  },
  STORE_UNCONFIRMED: {
    status: 503,
    message: 'The shared state store took the change but did not confirm its outcome; read /status before retrying',
  },
  // Starting a gateway.
  DUPLICATE_INSTANCE: {
    status: 409,
    message: 'Another live gateway instance of this cluster uses the same instance id',
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorTable;

/** An error with a code from the table; `detail` adds context without changing the code. */
export class BatonError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(detail ? `${errorTable[code].message}: ${detail}` : errorTable[code].message, options);
    this.name = 'BatonError';
    this.code = code;
    this.status = errorTable[code].status;
    this.detail = detail;
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; detail?: string; requestId?: string };
}

/** The JSON body sent for an error; the same shape on the data path and the admin API. */
export function errorBody(code: ErrorCode, detail?: string, requestId?: string): ErrorBody {
  const body: ErrorBody = { error: { code, message: errorTable[code].message } };
  if (detail) body.error.detail = detail;
  if (requestId) body.error.requestId = requestId;
  return body;
}
