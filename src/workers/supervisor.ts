import cluster, { type Worker } from 'node:cluster';
import { builtinPlugins } from '../../plugins/index.ts';
import { machineMetrics } from '../admin/metrics.ts';
import { watchFiles } from '../commands/reload.ts';
import { printListening } from '../commands/start.ts';
import { loadConfig } from '../config/load.ts';
import { ConfigError, formatProblem } from '../config/validate.ts';
import type { GatewaySettings } from '../config/types.ts';
import type { GatewayEvent } from '../events/types.ts';
import { MemoryHub } from '../state/memory-store.ts';
import { systemClock } from '../util/clock.ts';
import { workerChannel, type Channel } from './channel.ts';
import { HubHost } from './hub-host.ts';
import type { DownMessage, ReportArgs, ReportKind, StoreNotice, UpMessage, WorkerReport } from './ipc-protocol.ts';
import { afterCrash } from './restart-backoff.ts';
import { LEAD_WORKER, MACHINE_ID_ENV, WORKER_NUMBER_ENV } from './worker.ts';

export interface SupervisorOptions {
  readonly config: string;
  readonly settings: GatewaySettings;
  readonly watch: boolean;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** One worker position: its process comes and goes (crash, replacement), its number stays. */
interface Slot {
  readonly number: number;
  worker: Worker | undefined;
  channel: Channel<DownMessage, UpMessage> | undefined;
  startedAt: number;
  crashesInRow: number;
  listening: boolean;
  detach: () => void;
  cancelRestart: (() => void) | undefined;
}

/** Reports from the other workers wait this long at most (a worker may be starting or stuck). */
const REPORT_TIMEOUT_MS = 3000;
const RELOAD_TIMEOUT_MS = 30_000;
/** Kept for a new lead worker, so that /events shows crashes that happened before it started. */
const EVENTS_KEPT = 50;

/**
 * `baton start` with `workers` > 1: the cluster primary. It never handles a request: it forks
 * the workers (which share the listening sockets), hosts the in-memory store for them, relays
 * the lead worker's heartbeats and admin collections, validates a reload once before every
 * worker applies it, drains every worker on SIGTERM, and replaces crashed workers with back-off.
 */
export function runSupervisor(options: SupervisorOptions): void {
  const { config, settings, out, err } = options;
  const clock = systemClock();
  const count = settings.workers;
  const machineId = settings.cluster.instanceId;
  const hub =
    settings.cluster.redis === undefined ? new HubHost(new MemoryHub(clock, settings.cluster.quorum)) : undefined;
  const metrics = machineMetrics();
  const slots = new Map<number, Slot>();
  const events: GatewayEvent[] = [];
  const reportWaits = new Map<number, (report: WorkerReport) => void>();
  const reloadWaits = new Map<number, (answer: { worker: number; ok: boolean; lines: readonly string[] }) => void>();
  let nextRid = 1;
  let started = false;
  let stopping = false;
  let adminUrl: string | undefined;

  const live = () => [...slots.values()].filter((slot) => slot.worker && slot.listening);

  function fork(number: number): void {
    const slot: Slot = slots.get(number) ?? {
      number,
      worker: undefined,
      channel: undefined,
      startedAt: 0,
      crashesInRow: 0,
      listening: false,
      detach: () => {},
      cancelRestart: undefined,
    };
    slots.set(number, slot);
    const worker = cluster.fork({ [WORKER_NUMBER_ENV]: String(number), [MACHINE_ID_ENV]: machineId });
    const channel = workerChannel<DownMessage, UpMessage>(worker);
    Object.assign(slot, { worker, channel, startedAt: clock.now(), listening: false, cancelRestart: undefined });
    slot.detach = hub ? hub.attach(channel as unknown as Channel<StoreNotice, unknown>) : () => {};
    channel.onMessage((message) => onMessage(slot, worker, message));
    worker.on('exit', (code, signal) => onExit(slot, worker, code, signal));
  }

  function onMessage(slot: Slot, worker: Worker, message: UpMessage): void {
    switch (message.kind) {
      case 'listening':
        slot.listening = true;
        if (slot.number === LEAD_WORKER) adminUrl = message.adminUrl;
        if (!started) {
          if (live().length < count) return;
          started = true;
          printListening(
            { listeners: message.listeners, adminUrl },
            settings,
            out,
            ` (${count} workers; supervisor pid ${process.pid})`,
          );
          return;
        }
        out(`baton: worker ${slot.number} is back (pid ${worker.process.pid})`);
        // A new lead worker serves /events: give it what happened before it started.
        if (slot.number === LEAD_WORKER) for (const event of events) slot.channel?.send({ kind: 'event', event });
        emit({
          type: 'worker',
          scope: 'local',
          time: clock.now(),
          instance: `${machineId}-w${slot.number}`,
          from: 'crashed',
          to: 'started',
          reason: `worker ${slot.number} replaced (pid ${worker.process.pid})`,
        });
        return;
      case 'start-failed':
        err(`baton: worker ${slot.number} could not start: ${message.reason}`);
        if (!started) shutdown('start failure', 1);
        return;
      case 'heartbeat':
        for (const other of slots.values()) if (other !== slot) other.channel?.send(message);
        return;
      case 'collect':
        void collect(slot, message.rid, message.what, { seconds: message.seconds, pool: message.pool });
        return;
      case 'report':
        reportWaits.get(message.rid)?.({ worker: slot.number, pid: worker.process.pid ?? 0, value: message.value });
        return;
      case 'reloaded':
        reloadWaits.get(message.rid)?.({ worker: slot.number, ok: message.ok, lines: message.lines });
        return;
      default:
        // Store calls: the hub host has its own listener.
        return;
    }
  }

  async function collect(from: Slot, rid: number, what: ReportKind | 'metrics', args: ReportArgs): Promise<void> {
    try {
      if (what === 'metrics') {
        from.channel?.send({ kind: 'collected', rid, metrics: await metrics() });
        return;
      }
      from.channel?.send({ kind: 'collected', rid, reports: await gather(what, args) });
    } catch (error) {
      from.channel?.send({ kind: 'collected', rid, error: (error as Error).message });
    }
  }

  /** Every listening worker's report (those that answer in time). */
  function gather(what: ReportKind, args: ReportArgs): Promise<WorkerReport[]> {
    const asked = live();
    const rid = nextRid++;
    return new Promise((resolve) => {
      const reports: WorkerReport[] = [];
      const finish = () => {
        clearTimeout(timer);
        reportWaits.delete(rid);
        resolve(reports);
      };
      const timer = setTimeout(finish, REPORT_TIMEOUT_MS);
      reportWaits.set(rid, (report) => {
        reports.push(report);
        if (reports.length === asked.length) finish();
      });
      for (const slot of asked) slot.channel?.send({ ...args, kind: 'report', rid, what });
    });
  }

  function emit(event: GatewayEvent): void {
    events.push(event);
    if (events.length > EVENTS_KEPT) events.shift();
    const lead = slots.get(LEAD_WORKER);
    if (lead?.listening) lead.channel?.send({ kind: 'event', event });
  }

  function onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.detach();
    slot.worker = undefined;
    slot.channel = undefined;
    slot.listening = false;
    if (stopping) {
      if ([...slots.values()].every((s) => !s.worker)) process.exit(exitCode);
      return;
    }
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (!started) {
      err(`baton: worker ${slot.number} exited with ${how} while starting`);
      return shutdown('start failure', 1);
    }
    const decision = afterCrash(slot.crashesInRow, slot.startedAt, clock.now());
    slot.crashesInRow = decision.inRow;
    const reason = `worker ${slot.number} (pid ${worker.process.pid}) exited with ${how}; replacing it in ${decision.delayMs}ms (${decision.inRow} in a row)`;
    err(`baton: ${reason}`);
    emit({
      type: 'worker',
      scope: 'local',
      time: clock.now(),
      instance: `${machineId}-w${slot.number}`,
      from: 'running',
      to: 'crashed',
      reason,
    });
    slot.cancelRestart = clock.schedule(decision.delayMs, () => {
      if (!stopping) fork(slot.number);
    });
  }

  let exitCode = 0;
  function shutdown(why: string, code: number): void {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    for (const slot of slots.values()) slot.cancelRestart?.();
    const running = [...slots.values()].filter((slot) => slot.worker);
    if (running.length === 0) process.exit(code);
    for (const slot of running) slot.channel?.send({ kind: 'stop' });
    // A worker stuck past its drain timeout is not waited for.
    const force = setTimeout(() => {
      err(`baton: workers still running ${settings.server.drainTimeoutMs + 5000}ms after ${why}; killing them`);
      for (const slot of slots.values()) slot.worker?.process.kill('SIGKILL');
      process.exit(1);
    }, settings.server.drainTimeoutMs + 5000);
    force.unref();
  }

  async function reload(): Promise<void> {
    let next: GatewaySettings;
    try {
      next = await loadConfig(config, { builtins: builtinPlugins, command: 'start' });
    } catch (error) {
      if (!(error instanceof ConfigError)) {
        err(`baton: reload failed: ${(error as Error).message}`);
        return;
      }
      err(`baton: reload refused, ${config} has problems (still serving the previous config):`);
      for (const problem of error.problems) err(`  ${formatProblem(problem)}`);
      emit({
        type: 'reload',
        scope: 'local',
        time: clock.now(),
        instance: machineId,
        to: 'refused',
        reason: `reload refused: ${error.problems.map(formatProblem).join('; ')}`,
      });
      return;
    }
    if (next.workers !== count) err(`baton: workers ${count} → ${next.workers} needs a restart and was not applied`);
    const asked = live();
    const rid = nextRid++;
    const answers = await new Promise<Array<{ worker: number; ok: boolean; lines: readonly string[] }>>((resolve) => {
      const got: Array<{ worker: number; ok: boolean; lines: readonly string[] }> = [];
      const finish = () => {
        clearTimeout(timer);
        reloadWaits.delete(rid);
        resolve(got);
      };
      const timer = setTimeout(finish, RELOAD_TIMEOUT_MS);
      reloadWaits.set(rid, (answer) => {
        got.push(answer);
        if (got.length === asked.length) finish();
      });
      for (const slot of asked) slot.channel?.send({ kind: 'reload', rid });
    });
    answers.sort((a, b) => a.worker - b.worker);
    for (const line of answers[0]?.lines ?? []) (answers[0]!.ok ? out : err)(line);
    const failed = answers.filter((a) => !a.ok);
    for (const answer of failed) err(`baton: worker ${answer.worker} refused the reload: ${answer.lines.join(' ')}`);
    out(`baton: ${answers.length - failed.length} of ${asked.length} workers reloaded`);
  }

  let reloading: Promise<unknown> = Promise.resolve();
  const queueReload = () =>
    (reloading = reloading
      .then(reload)
      .catch((error: unknown) => err(`baton: reload failed: ${(error as Error).message}`)));
  process.on('SIGHUP', queueReload);
  const unwatch = options.watch ? watchFiles(settings.sources ?? [config], queueReload) : () => {};
  const onStopSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      err(`baton: ${signal} again, exiting now`);
      for (const slot of slots.values()) slot.worker?.process.kill('SIGKILL');
      process.exit(1);
    }
    unwatch();
    out(`baton: ${signal}, draining in-flight requests in ${live().length} workers`);
    shutdown(signal, 0);
  };
  process.on('SIGTERM', onStopSignal);
  process.on('SIGINT', onStopSignal);

  for (let number = 1; number <= count; number++) fork(number);
}
