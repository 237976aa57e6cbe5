import { builtinPlugins } from '../../plugins/index.ts';
import { loadConfig } from '../config/load.ts';
import { ConfigError, formatProblem } from '../config/validate.ts';
import type { GatewaySettings } from '../config/types.ts';
import { createGateway, type Gateway, type Listening } from '../gateway.ts';

export interface StartOptions {
  readonly config: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where human-readable lines go (the CLI passes stdout/stderr). */
  readonly out?: (line: string) => void;
  readonly err?: (line: string) => void;
  /** Already loaded (the CLI reads the config first to know how many workers to run). */
  readonly settings?: GatewaySettings;
}

export interface Started {
  readonly gateway: Gateway;
  readonly listening: Listening;
}

/** Loads and validates the config for `start`; prints the problems. Undefined: config refused. */
export async function loadStartSettings(options: StartOptions): Promise<GatewaySettings | undefined> {
  const err = options.err ?? ((line) => process.stderr.write(`${line}\n`));
  try {
    return await loadConfig(options.config, { builtins: builtinPlugins, env: options.env, command: 'start' });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    err(`baton: refusing to start, ${options.config} has problems:`);
    for (const problem of error.problems) err(`  ${formatProblem(problem)}`);
    return undefined;
  }
}

/** Loads the config and starts a gateway; prints what it listens on. Undefined: config refused. */
export async function startGateway(options: StartOptions): Promise<Started | undefined> {
  const out = options.out ?? ((line) => process.stdout.write(`${line}\n`));
  const settings = options.settings ?? (await loadStartSettings(options));
  if (!settings) return undefined;
  const gateway = createGateway(settings);
  const listening = await gateway.start();
  printListening(listening, settings, out);
  return { gateway, listening };
}

type ListenerLine = Pick<Listening['listeners'][number], 'url' | 'tls' | 'http2'>;

/** The lines a started gateway (or a supervisor, once its workers listen) prints. */
export function printListening(
  listening: Pick<Listening, 'adminUrl'> & { readonly listeners: readonly ListenerLine[] },
  settings: GatewaySettings,
  out: (line: string) => void,
  note = '',
): void {
  for (const listener of listening.listeners) {
    out(
      `Baton listening on ${listener.url}${listener.tls ? (listener.http2 ? ' (TLS, HTTP/2 and HTTP/1.1)' : ' (TLS, HTTP/1.1)') : ''}${note}`,
    );
  }
  if (listening.adminUrl) out(`Admin API on ${listening.adminUrl} (status: ${listening.adminUrl}/status)`);
  for (const pool of settings.pools.values()) {
    out(
      `  pool ${pool.name} (${pool.policy.name}): ${pool.nodes.map((node) => `${node.id}${node.tier ? ` [tier ${node.tier}]` : ''}`).join(', ')}`,
    );
  }
}

/** SIGTERM/SIGINT: drain and exit 0; a second signal exits at once. */
export function stopOnSignals(gateway: Gateway, onStopped: () => void): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`baton: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    process.stdout.write(`baton: ${signal}, draining in-flight requests\n`);
    void gateway.stop().then(onStopped, (error: unknown) => {
      process.stderr.write(`baton: error while stopping: ${(error as Error).message}\n`);
      process.exit(1);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
