/**
 * One canonical form of the request path, computed once: routing and the upstream then see
 * exactly the same bytes (a `/public/../admin` cannot match `/public` and reach `/admin`).
 * Dot segments (also percent-encoded ones) are resolved, repeated slashes merged; every other
 * byte is left as the client sent it. Returns undefined for a path that cannot be valid.
 */
export interface SplitTarget {
  readonly path: string;
  /** Including the leading '?', or ''. */
  readonly query: string;
}

// Anything that may need rewriting or rejecting; most paths skip all the work below.
const needsWork = /\/\/|\/\.|%2e|%(?![0-9a-f]{2})|\\/i;
const badPercent = /%(?![0-9a-fA-F]{2})/;

export function canonicalTarget(target: string): SplitTarget | undefined {
  if (target.charCodeAt(0) !== 47 /* / */) return undefined;
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q);
  if (!needsWork.test(rawPath)) return { path: rawPath, query };
  if (badPercent.test(rawPath) || rawPath.includes('\\')) return undefined;
  return { path: resolveSegments(rawPath), query };
}

function resolveSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split('/');
  const trailingSlash = segments.length > 1 && segments[segments.length - 1] === '';
  for (const segment of segments) {
    if (segment === '') continue;
    const plain = segment.replace(/%2e/gi, '.');
    if (plain === '.') continue;
    if (plain === '..') {
      out.pop();
      continue;
    }
    out.push(segment);
  }
  const last = segments[segments.length - 1]?.replace(/%2e/gi, '.');
  const endsInDir = trailingSlash || last === '.' || last === '..';
  return '/' + out.join('/') + (endsInDir && out.length > 0 ? '/' : '');
}
