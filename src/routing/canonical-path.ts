import type { EscapedSlashes } from '../vocabulary.ts';

export type { EscapedSlashes };

/**
 * One canonical form of the request path, computed once: routing and the upstream then see
 * exactly the same bytes (a `/public/../admin` cannot match `/public` and reach `/admin`).
 *
 * Canonical means: percent-encoded unreserved characters decoded (`%61` → `a`, `%2e` → `.`,
 * RFC 3986 §6.2.2.2) and other escapes in upper case; dot segments resolved; repeated slashes
 * merged; encoded slashes (`%2F`, `%5C`) kept, decoded or refused as `escapedSlashes` says.
 * Every other byte is left as the client sent it. Returns undefined for a path that cannot be
 * valid: a `#` (a request target has no fragment, RFC 9112 §3.2, and upstreams that parse it
 * as a URL would cut the path there: `/api/..#x` is `/` to them), bad percent-encoding, `%00`,
 * a raw backslash, or a dot segment that only appears once
 * `%2F`/`%5C` are read as separators or `;` parameters dropped (`/api/..%2Fadmin`,
 * `/api/..;/admin`): upstreams disagree about those (Tomcat drops `;` parameters, NGINX decodes
 * `%2F`), so no reading of them is safe to forward.
 */
export interface SplitTarget {
  readonly path: string;
  /** Including the leading '?', or ''. */
  readonly query: string;
  /**
   * The path as the most liberal upstream reads it: `%2F` and `%5C` as separators, `;`
   * parameters dropped. The same string as `path` when it holds none of them.
   */
  readonly decoded: string;
}

// Anything that may need rewriting or rejecting; most paths skip all the work below.
// Stryker disable next-line Regex: a fast path: a path that skips it is returned unchanged by the work below too
const needsWork = /\/[/.]|[%\\;]/;
// After normalisation escapes are upper-case.
const separatorOrParameter = /%2F|%5C|;/;

// Stryker disable next-line StringLiteral: any value other than 'reject' and 'decode' keeps encoded slashes
export function canonicalTarget(target: string, escapedSlashes: EscapedSlashes = 'keep'): SplitTarget | undefined {
  if (target.charCodeAt(0) !== 47 /* / */ || target.includes('#')) return undefined;
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q);
  // Stryker disable next-line ConditionalExpression: a fast path: the work below returns such a path unchanged
  if (!needsWork.test(rawPath)) return { path: rawPath, query, decoded: rawPath };
  if (rawPath.includes('\\')) return undefined;
  // Stryker disable next-line StringLiteral: a fast path: normalizeEscapes returns a path without `%` unchanged
  const unescaped = rawPath.includes('%') ? normalizeEscapes(rawPath, escapedSlashes) : rawPath;
  if (unescaped === undefined) return undefined;
  const path = resolveSegments(unescaped);
  const decoded = separatorOrParameter.test(path) ? liberalReading(path) : path;
  return decoded === undefined ? undefined : { path, query, decoded };
}

/** Unreserved characters (RFC 3986 §2.3): ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    (byte >= 0x30 && byte <= 0x39) ||
    byte === 0x2d ||
    byte === 0x2e ||
    byte === 0x5f ||
    byte === 0x7e
  );
}

function hexValue(c: number): number {
  // Stryker disable next-line ConditionalExpression: below '0', c - 48 is negative: refused as -1 is
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 32;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

function normalizeEscapes(path: string, escapedSlashes: EscapedSlashes): string | undefined {
  let out = '';
  let copied = 0;
  for (let i = path.indexOf('%'); i !== -1; i = path.indexOf('%', i + 3)) {
    const high = hexValue(path.charCodeAt(i + 1));
    const low = hexValue(path.charCodeAt(i + 2));
    if (high < 0 || low < 0) return undefined;
    const byte = high * 16 + low;
    if (byte === 0) return undefined;
    let replacement: string;
    if (isUnreserved(byte)) replacement = String.fromCharCode(byte);
    else if (byte === 0x2f || byte === 0x5c) {
      if (escapedSlashes === 'reject') return undefined;
      replacement = escapedSlashes === 'decode' ? '/' : byte === 0x2f ? '%2F' : '%5C';
    } else replacement = path.slice(i, i + 3).toUpperCase();
    out += path.slice(copied, i) + replacement;
    copied = i + 3;
  }
  return out + path.slice(copied);
}

function resolveSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split('/');
  for (const segment of segments) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  const last = segments[segments.length - 1];
  // The path starts with `/`: there are always two segments or more.
  const endsInDir = last === '' || last === '.' || last === '..';
  return `/${out.join('/')}${endsInDir && out.length > 0 ? '/' : ''}`;
}

/** `path` with `%2F`/`%5C` as separators and `;` parameters dropped; undefined if a dot segment appears. */
function liberalReading(path: string): string | undefined {
  const out: string[] = [];
  for (const segment of path.split('/')) {
    const semicolon = segment.indexOf(';');
    const bare = semicolon === -1 ? segment : segment.slice(0, semicolon);
    for (const piece of bare.split(/%2F|%5C/)) {
      if (piece === '.' || piece === '..') return undefined;
      if (piece !== '') out.push(piece);
    }
  }
  return `/${out.join('/')}${path.endsWith('/') && out.length > 0 ? '/' : ''}`;
}
