import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import { BatonError } from '../util/errors.ts';

/**
 * Bearer-token check for the admin API. With a token configured, every mutating call needs it,
 * and reads too when `tokenForReads` is set. Missing token: 401; wrong token: 403.
 * Comparison is constant-time (on digests, so lengths do not leak either).
 */
export function adminAuth(token: string | undefined, tokenForReads: boolean): Middleware {
  const expected = token ? digest(token) : undefined;
  return async (ctx, next) => {
    const mutating = ctx.method !== 'GET' && ctx.method !== 'HEAD';
    // Probes, and the dashboard's static scripts and styles: no data in them, and the page
    // must load them with tokenForReads too.
    const open = ctx.path === '/healthz' || ctx.path === '/readyz' || ctx.path.startsWith('/assets/');
    if (expected && !open && (mutating || tokenForReads)) {
      const presented = bearer(ctx.get('authorization')) ?? (mutating ? undefined : bearerFromQuery(ctx.query.token));
      if (presented === undefined) {
        ctx.set('www-authenticate', 'Bearer realm="baton-admin"');
        throw new BatonError('UNAUTHORIZED');
      }
      if (!timingSafeEqual(digest(presented), expected)) throw new BatonError('FORBIDDEN');
    }
    await next();
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function bearer(header: string): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}

/** EventSource cannot send headers, so reads may pass the token as ?token=. */
function bearerFromQuery(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
