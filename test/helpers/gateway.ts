import type { ExecutionContext } from 'ava';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/gateway.ts';
import { silentLogger } from '../../src/util/logger.ts';
import type { Plugin } from '../../src/policy/plugin.ts';
import { settingsFor } from './settings.ts';

export interface RunningGateway {
  readonly gateway: Gateway;
  /** The first listener's. */
  readonly url: string;
  /** Every listener's, in config order. */
  readonly urls: readonly string[];
  readonly adminUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts a gateway on port 0 (and its admin API on port 0) from a config object without
 * `listen`/`admin`; stops it when the test ends.
 */
export async function startGateway(
  t: ExecutionContext,
  config: Record<string, unknown>,
  options: GatewayOptions & { plugins?: Plugin[]; env?: Record<string, string> } = {},
): Promise<RunningGateway> {
  const running = await launchGateway(config, options);
  t.teardown(running.stop);
  return running;
}

/** The same, for `test.before` hooks (which cannot register teardowns): call `stop()` yourself. */
export async function launchGateway(
  config: Record<string, unknown>,
  options: GatewayOptions & { plugins?: Plugin[]; env?: Record<string, string> } = {},
): Promise<RunningGateway> {
  const settings = settingsFor(
    {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { port: 0 },
      log: { level: 'silent', access: false },
      server: { drainTimeout: '1s' },
      ...config,
    },
    { plugins: options.plugins, env: options.env },
  );
  const gateway = createGateway(settings, { logger: silentLogger(), ...options });
  const listening = await gateway.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await gateway.stop();
  };
  return {
    gateway,
    url: listening.url,
    urls: listening.listeners.map((l) => l.url),
    adminUrl: listening.adminUrl ?? '',
    stop,
  };
}
