import type { IncomingMessage } from 'node:http';
import { canonicalTarget } from '../routing/canonical-path.ts';
import { BatonError } from '../util/errors.ts';
import type { Stage } from './state.ts';

/**
 * Request hygiene that Node's strict parser leaves to us: methods a gateway should not pass
 * on, a duplicate Host (Node keeps the first silently), absolute-form targets whose authority
 * disagrees with Host, and one canonical path so that routing and the upstream agree.
 */
export const guard: Stage = (ctx) => {
  const req = ctx.req;
  if (req.method === 'CONNECT' || req.method === 'TRACE') throw new BatonError('METHOD_NOT_ALLOWED', req.method);
  if (hasDuplicateHost(req)) throw new BatonError('BAD_REQUEST', 'more than one Host header');
  let target = req.url ?? '';
  if (target.charCodeAt(0) !== 47 /* / */) {
    const originForm = fromAbsoluteForm(target, req.headers.host);
    if (originForm === undefined) throw new BatonError('BAD_REQUEST', 'unsupported request target');
    target = originForm;
  }
  const canonical = canonicalTarget(target);
  if (!canonical) throw new BatonError('BAD_REQUEST', 'invalid path');
  const url = canonical.path + canonical.query;
  if (url !== req.url) req.url = url;
  ctx.state.path = canonical.path;
  ctx.state.query = canonical.query;
};

function hasDuplicateHost(req: IncomingMessage): boolean {
  const raw = req.rawHeaders;
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host' && ++seen > 1) return true;
  }
  return false;
}

/** `http://host/path` → `/path`, only when the authority is the Host header (RFC 9112 §3.2.2). */
function fromAbsoluteForm(target: string, host: string | undefined): string | undefined {
  if (!/^https?:\/\//i.test(target)) return undefined;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return undefined;
  }
  if (!host || url.host.toLowerCase() !== host.toLowerCase()) return undefined;
  return url.pathname + url.search;
}
