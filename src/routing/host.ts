import { isIPv6 } from 'node:net';

/**
 * Whether a Host header (or an absolute-form authority) names a host and nothing else: a DNS
 * name or an IP literal (IPv4, bracketed IPv6), with an optional port (RFC 3986 §3.2.2).
 *
 * Stricter than RFC 3986's reg-name where upstreams disagree about what a character means:
 * - only letters, digits, `-`, `_` and `.` in names. The grammar also admits sub-delims
 *   (`, ; ! $ & ' ( ) * + =`) and percent-encoding, which no DNS name uses and which upstream
 *   frameworks split on (X-Forwarded-Host is comma-split by Express and Django) or decode;
 *   `/ ? # @ \` and spaces are never part of a host (`evil.com/.example.com` would otherwise
 *   match `*.example.com` and be forwarded as the Host);
 * - no empty labels (`a..b`, `.a`), labels up to 63 and names up to 253 characters, one
 *   trailing dot allowed (the absolute form of a name);
 * - a name whose last label is a number must be a dotted-quad IPv4 address without leading
 *   zeros: URL parsers read `127.1`, `0x7f.1` or `010.0.0.1` as other addresses;
 * - IPv6 literals without zone identifiers, no IPvFuture;
 * - a port is 1 to 5 digits up to 65535.
 *
 * No allocation except for IPv6 literals: this runs on every request.
 */
export function validHost(value: string): boolean {
  const length = value.length;
  // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: a fast path: the name, port and IPv6 checks refuse an empty value and anything over 260 characters too
  if (length === 0 || length > 262) return false;
  if (value.charCodeAt(0) === 91 /* [ */) {
    const close = value.indexOf(']');
    // Stryker disable next-line ConditionalExpression,UnaryOperator: without `]` (close -1) the port check below reads `[` where it wants `:` and refuses too
    if (close === -1 || !validIPv6(value.slice(1, close))) return false;
    if (close === length - 1) return true;
    return value.charCodeAt(close + 1) === 58 /* : */ && validPort(value, close + 2, length);
  }
  const colon = value.indexOf(':');
  if (colon === -1) return validName(value, 0, length);
  return validPort(value, colon + 1, length) && validName(value, 0, colon);
}

/** `host[:port]` → `name:port` in lower case, the port defaulted: to compare two authorities. */
export function authorityKey(value: string, defaultPort: number): string {
  const lower = value.toLowerCase();
  // Stryker disable next-line StringLiteral: in a valid host a `]` comes only after a leading `[`
  const close = lower.startsWith('[') ? lower.indexOf(']') : -1;
  const colon = lower.indexOf(':', close + 1);
  let name = colon === -1 ? lower : lower.slice(0, colon);
  if (name.endsWith('.')) name = name.slice(0, -1);
  const port = colon === -1 ? defaultPort : Number(lower.slice(colon + 1));
  return `${name}:${port}`;
}

function validPort(value: string, from: number, to: number): boolean {
  const digits = to - from;
  if (digits < 1 || digits > 5) return false;
  let port = 0;
  for (let i = from; i < to; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return false;
    port = port * 10 + (c - 48);
  }
  return port <= 65535;
}

function validName(value: string, from: number, to: number): boolean {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: for an empty name charCodeAt(-1) is NaN, not a dot
  if (to > from && value.charCodeAt(to - 1) === 46 /* . */) to -= 1; // absolute name: `example.com.`
  // Stryker disable next-line ConditionalExpression,ArithmeticOperator,EqualityOperator: an empty name is refused as an empty label below; from is 0 for every caller
  if (to <= from || to - from > 253) return false;
  let labels = 0;
  let labelStart = from;
  let lastLabel = from;
  // Whether every label so far could be one part of a dotted-quad address.
  let dottedQuad = true;
  for (let i = from; i <= to; i++) {
    const c = i === to ? 46 : value.charCodeAt(i);
    if (c === 46 /* . */) {
      const size = i - labelStart;
      if (size === 0 || size > 63) return false;
      labels += 1;
      if (dottedQuad && !quadPart(value, labelStart, i)) dottedQuad = false;
      lastLabel = labelStart;
      labelStart = i + 1;
    } else if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 95)) {
      return false;
    }
  }
  return !endsInNumber(value, lastLabel, to) || (dottedQuad && labels === 4);
}

/** `0`…`255` in decimal, without leading zeros. */
function quadPart(value: string, from: number, to: number): boolean {
  const size = to - from;
  // Stryker disable next-line ConditionalExpression: a fast path: four digits without a leading zero are over 255
  if (size > 3 || (size > 1 && value.charCodeAt(from) === 48)) return false;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return false;
    n = n * 10 + (c - 48);
  }
  return n <= 255;
}

/** What the WHATWG URL parser treats as a number (and so the name as an IPv4 address): digits, or 0x and hex digits. */
function endsInNumber(value: string, from: number, to: number): boolean {
  let i = from;
  // Stryker disable next-line ConditionalExpression,ArithmeticOperator: a one-character last label is followed by `.`, `:` or the end, never by an `x`, so `to - from >= 2` → true or `to + from` reads it the same
  if (to - from >= 2 && value.charCodeAt(from) === 48 && (value.charCodeAt(from + 1) | 32) === 120 /* x */) {
    for (i = from + 2; i < to; i++) if (!isHexDigit(value.charCodeAt(i))) return false;
    return true;
  }
  for (; i < to; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 102);
}

/** Hex digits, colons and an embedded IPv4 tail only: no zone (`%25eth0`), no IPvFuture (`v1.x`). */
function validIPv6(inner: string): boolean {
  for (let i = 0; i < inner.length; i++) {
    const c = inner.charCodeAt(i);
    if (!(isHexDigit(c) || c === 58 || c === 46)) return false;
  }
  return isIPv6(inner);
}
