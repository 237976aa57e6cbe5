import type { GatewaySettings, ListenerSettings } from '../config/types.ts';
import { ConfigError } from '../config/validate.ts';
import type { Listener } from '../listen/listener.ts';
import type { TlsContexts } from '../listen/tls.ts';
import type { ReloadSummary } from '../pool/reconcile.ts';

// What a reload may change in place and what it may not, and how it is told.

/** What a reload changed, and what it could not change without a restart. */
export interface ReloadResult extends ReloadSummary {
  readonly routes: number;
  readonly restartNeeded: string[];
}

/** Settings a running gateway cannot take over: its sockets and its store are fixed at start. */
export function needsRestart(before: GatewaySettings, after: GatewaySettings): string[] {
  const changed: string[] = [];
  const differs = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);
  if (
    before.listeners.length !== after.listeners.length ||
    before.listeners.some((listener, i) => restartsListener(listener, after.listeners[i]!))
  ) {
    changed.push('listen');
  }
  if (differs(before.admin, after.admin)) changed.push('admin');
  if (differs(before.cluster, after.cluster)) changed.push('cluster');
  if (before.server.maxHeaderSize !== after.server.maxHeaderSize) changed.push('server.maxHeaderSize');
  if (before.workers !== after.workers) changed.push('workers');
  if (differs(before.server.http2, after.server.http2)) changed.push('server.http2');
  return changed;
}

/**
 * What a listener cannot change while it runs: its address, TLS or not, HTTP/2 or not, and
 * whether it asks for client certificates. Certificates, keys and CAs are swapped.
 */
export function restartsListener(before: ListenerSettings, after: ListenerSettings): boolean {
  return (
    before.host !== after.host ||
    before.port !== after.port ||
    (before.tls === undefined) !== (after.tls === undefined) ||
    before.http2 !== after.http2 ||
    before.tls?.clientCertificate !== after.tls?.clientCertificate
  );
}

/** The secure contexts of the next settings, per listener; a certificate OpenSSL refuses is a ConfigError. */
export function prepareCertificates(
  listeners: readonly Listener[],
  next: GatewaySettings,
): Array<TlsContexts | undefined> {
  return listeners.map((listener, index) => {
    const settings = next.listeners[index];
    if (!settings || restartsListener(listener.settings, settings)) return undefined;
    try {
      return listener.prepare(settings);
    } catch (error) {
      throw new ConfigError([
        { path: `listen[${index}].tls`, message: `certificate refused: ${(error as Error).message}` },
      ]);
    }
  });
}

export function describeReload(result: ReloadResult): string {
  const parts = [
    result.added.length ? `added ${result.added.join(', ')}` : '',
    result.changed.length ? `changed ${result.changed.join(', ')}` : '',
    result.removed.length ? `removed ${result.removed.join(', ')}` : '',
    `${result.unchanged.length} pools unchanged, ${result.routes} routes`,
    result.restartNeeded.length ? `needs a restart to change: ${result.restartNeeded.join(', ')}` : '',
  ];
  return `configuration reloaded: ${parts.filter(Boolean).join('; ')}`;
}
