import cluster from 'node:cluster';
import { builtinPlugins } from '../../plugins/index.ts';
import { shareWithSupervisor } from '../admin/metrics.ts';
import type { AdminViews } from '../admin/server.ts';
import { mergeWindows, type RawWindow } from '../admin/series-window.ts';
import { reloadFrom } from '../commands/reload.ts';
import { loadConfig } from '../config/load.ts';
import { ConfigError, formatProblem } from '../config/validate.ts';
import type { GatewaySettings } from '../config/types.ts';
import { createGateway, type Gateway } from '../gateway.ts';
import { createLogger } from '../util/logger.ts';
import type { HeartbeatShare } from '../health/heartbeat-share.ts';
import { parentChannel, type Channel } from './channel.ts';
import type { DownMessage, ReportArgs, ReportKind, UpMessage, WorkerReport } from './ipc-protocol.ts';
import { IpcStore } from './ipc-store.ts';
import { machineStatus, type WorkerStatus } from './machine-status.ts';

/** Set by the supervisor in each worker's environment. */
export const WORKER_NUMBER_ENV = 'BATON_WORKER';
export const MACHINE_ID_ENV = 'BATON_MACHINE_ID';

/** Worker 1 sends the machine's heartbeats and serves its admin API (a replacement takes over). */
export const LEAD_WORKER = 1;

/** How long the admin worker waits for the other workers' reports. */
const COLLECT_TIMEOUT_MS = 5000;

/**
 * What a worker runs instead of the settings as written: its own instance id (the machine's,
 * suffixed with the worker number) and, except for the lead worker, no admin API.
 */
export function workerSettings(settings: GatewaySettings, worker: number, machineId: string): GatewaySettings {
  return {
    ...settings,
    cluster: { ...settings.cluster, instanceId: `${machineId}-w${worker}` },
    admin: worker === LEAD_WORKER ? settings.admin : false,
  };
}

/** Is this process a worker forked by the supervisor? */
export function isWorkerProcess(): boolean {
  return cluster.isWorker && process.env[WORKER_NUMBER_ENV] !== undefined;
}

/** The body of a worker process (`baton start` under node:cluster). */
export async function runWorker(config: string): Promise<void> {
  const worker = Number(process.env[WORKER_NUMBER_ENV]);
  const machineId = process.env[MACHINE_ID_ENV] ?? 'baton';
  const adapt = (settings: GatewaySettings) => workerSettings(settings, worker, machineId);
  const channel = parentChannel<UpMessage, DownMessage>();
  // The supervisor owns the signals: a terminal's Ctrl-C reaches the whole process group, and
  // a worker must drain when the supervisor says so, not before.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});
  // Told to stop before the gateway exists (the config is still loading): nothing to drain.
  const stopEarly = channel.onMessage((message) => {
    if (message.kind === 'stop') process.exit(0);
  });

  let settings: GatewaySettings;
  try {
    settings = adapt(await loadConfig(config, { builtins: builtinPlugins, command: 'start' }));
  } catch (error) {
    const reason =
      error instanceof ConfigError ? error.problems.map(formatProblem).join('; ') : (error as Error).message;
    channel.send({ kind: 'start-failed', reason });
    process.exit(1);
  }
  const lead = worker === LEAD_WORKER;
  const heartbeats: HeartbeatShare = {
    probing: lead,
    publish: (result) => channel.send({ kind: 'heartbeat', ...result }),
    subscribe: (listener) =>
      channel.onMessage((message) => {
        if (message.kind === 'heartbeat') listener(message);
      }),
  };
  const gateway = createGateway(settings, {
    // Every log line (access log included) says which worker wrote it.
    logger: createLogger({ level: settings.log.level }).child({ worker }),
    // The in-memory store lives in the supervisor, one for the machine; Redis: each worker is an instance.
    store:
      settings.cluster.redis === undefined
        ? new IpcStore({ instanceId: settings.cluster.instanceId, channel })
        : undefined,
    heartbeats,
    adminViews: lead ? machineViews(channel) : undefined,
  });
  shareWithSupervisor(gateway.metrics.registry);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await gateway.stop();
    process.exit(0);
  };
  // A supervisor that is gone (killed) leaves nobody to drain us: drain and go.
  process.on('disconnect', () => void stop());
  stopEarly();
  channel.onMessage((message) => void answer(message));

  async function answer(message: DownMessage): Promise<void> {
    switch (message.kind) {
      case 'reload': {
        const lines: string[] = [];
        const ok = await reloadFrom(
          config,
          gateway,
          (line) => lines.push(line),
          (line) => lines.push(line),
          adapt,
        );
        channel.send({ kind: 'reloaded', rid: message.rid, ok, lines });
        return;
      }
      case 'stop':
        return stop();
      case 'event':
        gateway.events.emit(message.event);
        return;
      case 'report':
        channel.send({ kind: 'report', rid: message.rid, value: report(gateway, worker, message.what, message) });
        return;
      default:
        return;
    }
  }

  try {
    const listening = await gateway.start();
    channel.send({
      kind: 'listening',
      listeners: listening.listeners.map(({ url, tls, http2 }) => ({ url, tls, http2 })),
      adminUrl: listening.adminUrl,
    });
  } catch (error) {
    channel.send({ kind: 'start-failed', reason: (error as Error).message });
    process.exit(1);
  }
}

function report(gateway: Gateway, worker: number, what: ReportKind, args: ReportArgs): unknown {
  if (what === 'series') return gateway.metrics.traffic.window(args.seconds ?? 60, args.pool);
  const status: WorkerStatus = {
    worker,
    pid: process.pid,
    inflight: gateway.inflightRequests,
    status: gateway.status(),
  };
  return status;
}

/** The lead worker's admin API: every worker's state, collected through the supervisor. */
function machineViews(channel: Channel<UpMessage, DownMessage>): AdminViews {
  let nextRid = 1;
  const collect = (what: ReportKind | 'metrics', args: ReportArgs = {}) =>
    new Promise<Extract<DownMessage, { kind: 'collected' }>>((resolve, reject) => {
      const rid = nextRid++;
      const timer = setTimeout(() => {
        unsubscribe();
        reject(new Error(`the supervisor did not answer within ${COLLECT_TIMEOUT_MS}ms`));
      }, COLLECT_TIMEOUT_MS);
      const unsubscribe = channel.onMessage((message) => {
        if (message.kind !== 'collected' || message.rid !== rid) return;
        clearTimeout(timer);
        unsubscribe();
        if (message.error) reject(new Error(message.error));
        else resolve(message);
      });
      channel.send({ ...args, kind: 'collect', rid, what });
    });
  const reports = async (what: ReportKind, args?: ReportArgs): Promise<readonly WorkerReport[]> =>
    (await collect(what, args)).reports ?? [];
  return {
    status: async () => machineStatus((await reports('status')).map((r) => r.value as WorkerStatus)),
    metrics: async () => (await collect('metrics')).metrics ?? '',
    series: async (seconds, pool) =>
      mergeWindows((await reports('series', { seconds, pool })).map((r) => r.value as RawWindow)),
  };
}
