import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { ListenerTlsSettings } from '../config/types.ts';
import { pickCertificate } from './sni.ts';

/**
 * Everything the gateway does with node:tls: secure contexts from PEM, the checks a config
 * runs on its certificates, and the TLS listener with certificates chosen by SNI and
 * swappable while it runs. A swap affects new handshakes only: connections already
 * established keep the session they negotiated.
 */

/** The ALPN protocols a TLS listener offers, in the server's order of preference. */
export type AlpnProtocol = 'h2' | 'http/1.1';

/** OpenSSL's complaint about a certificate and key, or undefined when they make a context. */
export function keyPairProblem(cert: string, key: string): string | undefined {
  try {
    tls.createSecureContext({ cert, key });
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** OpenSSL's complaint about a CA bundle, or undefined. */
export function caProblem(ca: string): string | undefined {
  try {
    tls.createSecureContext({ ca });
    new X509Certificate(ca);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export interface CertificateFacts {
  readonly subject: string;
  /** Expiry, ms since the epoch. */
  readonly notAfter: number;
}

/** The subject and expiry of the first (leaf) certificate of a PEM chain. */
export function certificateFacts(pem: string): CertificateFacts {
  const cert = new X509Certificate(pem);
  return { subject: cert.subject.replaceAll('\n', ', '), notAfter: Date.parse(cert.validTo) };
}

/** The secure contexts of one TLS listener: the default one and one per SNI entry. */
export interface TlsContexts {
  readonly options: tls.SecureContextOptions;
  readonly byEntry: readonly tls.SecureContext[];
  readonly settings: ListenerTlsSettings;
}

export function tlsContexts(settings: ListenerTlsSettings): TlsContexts {
  const options = (index: number): tls.SecureContextOptions => {
    const entry = settings.certificates[index]!;
    return {
      cert: entry.cert.pem,
      key: entry.key.pem,
      minVersion: settings.minVersion,
      ...(settings.ciphers ? { ciphers: settings.ciphers } : {}),
      ...(settings.ca ? { ca: settings.ca.pem } : {}),
    };
  };
  return {
    options: options(0),
    byEntry: settings.certificates.map((_, index) => tls.createSecureContext(options(index))),
    settings,
  };
}

export interface TlsListenerOptions {
  readonly contexts: TlsContexts;
  readonly alpn: readonly AlpnProtocol[];
  /** A client that has not finished its handshake after this long is disconnected. */
  readonly handshakeTimeoutMs: number;
  /** A connection whose handshake is done, with the protocol ALPN chose. */
  readonly onConnection: (socket: tls.TLSSocket, protocol: AlpnProtocol) => void;
}

/** A TLS server whose certificates `swap` replaces without touching open connections. */
export interface TlsListener {
  readonly server: tls.Server;
  swap(contexts: TlsContexts): void;
}

export function createTlsListener(options: TlsListenerOptions): TlsListener {
  let current = options.contexts;
  const clientAuth = current.settings.clientCertificate;
  const server = tls.createServer({
    ...current.options,
    ALPNProtocols: [...options.alpn],
    requestCert: clientAuth !== 'none',
    // 'request': a client without a valid certificate gets in, without a verified subject.
    rejectUnauthorized: clientAuth === 'require',
    handshakeTimeout: options.handshakeTimeoutMs,
    // As Node's http and https servers do: without it, Nagle's algorithm and delayed ACKs hold
    // small responses back for up to 200 ms (the http.Server behind sets it only on sockets it accepts).
    noDelay: true,
    SNICallback: (servername, done) =>
      done(null, current.byEntry[pickCertificate(servername, current.settings.certificates)]),
  });
  server.on('secureConnection', (socket) => {
    // A client that offers no ALPN (or only protocols we do not speak) gets HTTP/1.1.
    options.onConnection(socket, socket.alpnProtocol === 'h2' ? 'h2' : 'http/1.1');
  });
  // A failed handshake (bad certificate, plain HTTP on the TLS port, a scanner) only ends that connection.
  server.on('tlsClientError', (_error, socket) => socket.destroy());
  return {
    server,
    swap(contexts) {
      current = contexts;
      // For clients that send no SNI (IP addresses); SNICallback covers the others.
      server.setSecureContext(contexts.options);
    },
  };
}

/** The verified client certificate of a mutual-TLS connection, or undefined. */
export function verifiedPeerSubject(socket: tls.TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const peer = socket.getPeerCertificate();
  if (!peer?.subject) return undefined;
  return distinguishedName(peer.subject as unknown as Record<string, string | string[]>);
}

/** `CN=alice,O=Example\, Inc.`: RFC 4514 form, special characters escaped. */
export function distinguishedName(subject: Record<string, string | string[]>): string {
  const parts: string[] = [];
  for (const [type, value] of Object.entries(subject)) {
    for (const one of Array.isArray(value) ? value : [value]) parts.push(`${type}=${escapeDnValue(one)}`);
  }
  return parts.join(',');
}

function escapeDnValue(value: string): string {
  return (
    value
      .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
      .replace(/^[ #]/, (c) => `\\${c}`)
      .replace(/ $/, '\\ ')
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this escapes
      .replace(/[\u0000-\u001f\u007f]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
  );
}
