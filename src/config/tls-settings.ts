import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { caProblem, certificateFacts, keyPairProblem } from '../listen/tls.ts';
import { http2Defaults, serverDefaults, tlsDefaults } from './defaults.ts';
import type { ParsedConfig, ParsedListener, ParsedUpstreamTls } from './schema.ts';
import type {
  CertificateSettings,
  Http2Settings,
  ListenerSettings,
  PemSettings,
  UpstreamTlsSettings,
} from './types.ts';
import type { ConfigProblem } from './validate.ts';

/**
 * Listeners and upstream TLS settings. PEM files are read here, during validation, on purpose:
 * `baton check` then reports an unreadable file or a certificate that does not match its key,
 * and a reload with such a certificate is refused like any invalid config while the running
 * certificates keep serving.
 */

type Problems = ConfigProblem[];

const pemStart = '-----BEGIN';

/** PEM text as written, or the contents of the file it names (relative to `baseDir`). */
function readPem(value: string, path: string, baseDir: string, problems: Problems): PemSettings | undefined {
  if (value.trimStart().startsWith(pemStart)) return { pem: value, file: undefined };
  const file = resolve(baseDir, value);
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    problems.push({
      path,
      message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    });
    return undefined;
  }
  if (!pem.includes(pemStart)) {
    problems.push({ path, message: `${file} is not a PEM file` });
    return undefined;
  }
  return { pem, file };
}

function certificatePair(
  cert: string,
  key: string,
  hosts: string[],
  path: string,
  baseDir: string,
  problems: Problems,
): CertificateSettings | undefined {
  const certPem = readPem(cert, `${path}.cert`, baseDir, problems);
  const keyPem = readPem(key, `${path}.key`, baseDir, problems);
  if (!certPem || !keyPem) return undefined;
  const problem = keyPairProblem(certPem.pem, keyPem.pem);
  if (problem) {
    problems.push({ path, message: `the certificate and key cannot be used together: ${problem}` });
    return undefined;
  }
  try {
    certificateFacts(certPem.pem);
  } catch (error) {
    problems.push({ path: `${path}.cert`, message: `not a certificate: ${(error as Error).message}` });
    return undefined;
  }
  return { hosts, cert: certPem, key: keyPem };
}

export function listenerSettings(
  parsed: ParsedListener,
  path: string,
  baseDir: string,
  problems: Problems,
): ListenerSettings {
  const listener: ListenerSettings = {
    host: parsed.host ?? serverDefaults.host,
    port: parsed.port,
    trustedProxies: parsed.trustedProxies ?? [],
    tls: undefined,
    http2: false,
  };
  if (!parsed.tls) {
    if (parsed.http2)
      problems.push({ path: `${path}.http2`, message: 'HTTP/2 is offered on TLS listeners only (add tls)' });
    return listener;
  }
  const tls = parsed.tls;
  const tlsPath = `${path}.tls`;
  const certificates: CertificateSettings[] = [];
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    problems.push({ path: tlsPath, message: 'cert and key go together' });
  } else if (tls.cert !== undefined && tls.key !== undefined) {
    const pair = certificatePair(tls.cert, tls.key, [], tlsPath, baseDir, problems);
    if (pair) certificates.push(pair);
  }
  (tls.certificates ?? []).forEach((entry, index) => {
    const pair = certificatePair(
      entry.cert,
      entry.key,
      entry.hosts,
      `${tlsPath}.certificates[${index}]`,
      baseDir,
      problems,
    );
    if (pair) certificates.push(pair);
  });
  if (tls.cert === undefined && (tls.certificates ?? []).length === 0) {
    problems.push({ path: tlsPath, message: 'a TLS listener needs a certificate: cert and key, or certificates' });
  }
  let ca: PemSettings | undefined;
  if (tls.ca !== undefined) {
    ca = readPem(tls.ca, `${tlsPath}.ca`, baseDir, problems);
    const problem = ca && caProblem(ca.pem);
    if (problem) problems.push({ path: `${tlsPath}.ca`, message: `not a CA certificate: ${problem}` });
  }
  if (tls.clientCertificate && tls.ca === undefined) {
    problems.push({
      path: `${tlsPath}.clientCertificate`,
      message: 'client certificates need ca (the CA that signs them)',
    });
  }
  return {
    ...listener,
    http2: parsed.http2 ?? true,
    tls: {
      certificates,
      ca,
      clientCertificate: tls.ca === undefined ? 'none' : (tls.clientCertificate ?? 'require'),
      minVersion: tls.minVersion ?? tlsDefaults.minVersion,
      ciphers: tls.ciphers,
    },
  };
}

export function upstreamTlsSettings(
  parsed: ParsedUpstreamTls | undefined,
  protocols: ReadonlySet<string>,
  path: string,
  baseDir: string,
  problems: Problems,
): UpstreamTlsSettings | undefined {
  if (protocols.size > 1)
    problems.push({
      path: `${path}.nodes`,
      message: "a pool's nodes all use http:// or all https:// (they share one connection pool)",
    });
  if (!parsed) return undefined;
  if (!protocols.has('https:')) {
    problems.push({ path: `${path}.tls`, message: 'tls applies to https:// nodes only' });
    return undefined;
  }
  const tlsPath = `${path}.tls`;
  if ((parsed.cert === undefined) !== (parsed.key === undefined))
    problems.push({ path: tlsPath, message: 'cert and key go together' });
  const ca = parsed.ca === undefined ? undefined : readPem(parsed.ca, `${tlsPath}.ca`, baseDir, problems);
  const caIssue = ca && caProblem(ca.pem);
  if (caIssue) problems.push({ path: `${tlsPath}.ca`, message: `not a CA certificate: ${caIssue}` });
  const cert = parsed.cert === undefined ? undefined : readPem(parsed.cert, `${tlsPath}.cert`, baseDir, problems);
  const key = parsed.key === undefined ? undefined : readPem(parsed.key, `${tlsPath}.key`, baseDir, problems);
  if (cert && key) {
    const problem = keyPairProblem(cert.pem, key.pem);
    if (problem)
      problems.push({ path: tlsPath, message: `the client certificate and key cannot be used together: ${problem}` });
  }
  return { ca, servername: parsed.servername, rejectUnauthorized: parsed.rejectUnauthorized ?? true, cert, key };
}

export function http2Settings(config: ParsedConfig): Http2Settings {
  const given = config.server?.http2 ?? {};
  return {
    maxConcurrentStreams: given.maxConcurrentStreams ?? http2Defaults.maxConcurrentStreams,
    floodWindowMs: given.floodWindow ?? http2Defaults.floodWindowMs,
    maxResets: given.maxResets ?? http2Defaults.maxResets,
    maxPings: given.maxPings ?? http2Defaults.maxPings,
    maxSettings: given.maxSettings ?? http2Defaults.maxSettings,
  };
}

/** Every PEM file the settings were read from: what --watch watches besides the config. */
export function pemFiles(
  listeners: readonly ListenerSettings[],
  upstream: readonly (UpstreamTlsSettings | undefined)[],
): string[] {
  const files = new Set<string>();
  const add = (pem: PemSettings | undefined) => pem?.file && files.add(pem.file);
  for (const listener of listeners) {
    for (const entry of listener.tls?.certificates ?? []) {
      add(entry.cert);
      add(entry.key);
    }
    add(listener.tls?.ca);
  }
  for (const tls of upstream) {
    add(tls?.ca);
    add(tls?.cert);
    add(tls?.key);
  }
  return [...files];
}
