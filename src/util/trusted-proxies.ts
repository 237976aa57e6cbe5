import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';

/**
 * Which peers may tell us the client's address through X-Forwarded-For. proxy-addr does the
 * address and CIDR matching (and understands 'loopback', 'linklocal', 'uniquelocal').
 */
export interface TrustedProxies {
  /** Is the direct peer one whose X-Forwarded-* headers we believe? */
  trusts(peerAddress: string | undefined): boolean;
  /** The client address: the peer, or for trusted peers the nearest untrusted hop in X-Forwarded-For. */
  clientAddress(req: IncomingMessage): string;
}

/** Throws (with the offending entry in the message) when an entry is not an address, CIDR or keyword. */
export function createTrustedProxies(entries: readonly string[]): TrustedProxies {
  if (entries.length === 0) {
    return { trusts: () => false, clientAddress: (req) => req.socket.remoteAddress ?? '' };
  }
  const trust = proxyAddr.compile([...entries]);
  return {
    trusts: (peer) => peer !== undefined && trust(peer, 0),
    clientAddress: (req) => proxyAddr(req, trust),
  };
}

/** For config validation: the entries that proxy-addr cannot read. */
export function invalidTrustEntries(entries: readonly string[]): string[] {
  return entries.filter((entry) => {
    try {
      proxyAddr.compile(entry);
      return false;
    } catch {
      return true;
    }
  });
}
