import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

/**
 * Child processes tied to this one: each is spawned through `setpriv --pdeathsig SIGKILL`, so
 * the kernel kills it when this process dies, however it dies (an ava timeout, --fail-fast, a
 * SIGKILL of the worker, a crashed benchmark). Teardown kills them too, in order. Used for
 * every process the cluster tests and the nemesis start (Redis, upstreams, gateways).
 */

/** Where cleanups go: ava's ExecutionContext is one, `processScope()` is one for scripts. */
export interface Scope {
  teardown(fn: () => void | Promise<void>): void;
}

export interface Tethered {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Still running (a paused process is running). */
  readonly alive: boolean;
  readonly paused: boolean;
  /** stdout and stderr so far (the last 64 KiB), for error messages. */
  output(): string;
  /** Calls `listener` with every complete stdout line from now on; returns an unsubscribe. */
  onLine(listener: (line: string) => void): () => void;
  /** Resolves with the first stdout line (from now on, or already seen) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` (SIGCONT first, so a paused process can act on it) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: its sockets stay open and nothing answers (a frozen VM, a long GC pause). */
  pause(): void;
  resume(): void;
}

const OUTPUT_KEPT = 64 * 1024;

export function spawnTethered(
  scope: Scope,
  name: string,
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: boolean } = {},
): Tethered {
  const child = spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', command, ...args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined)
    throw new Error(`${name}: could not spawn ${command} (is util-linux' setpriv installed?)`);
  let output = '';
  let partial = '';
  let paused = false;
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  const keep = (text: string) => {
    output = (output + text).slice(-OUTPUT_KEPT);
  };
  child.stdout!.on('data', (data: Buffer) => {
    const text = data.toString();
    keep(text);
    partial += text;
    let newline: number;
    while ((newline = partial.indexOf('\n')) !== -1) {
      const line = partial.slice(0, newline);
      partial = partial.slice(newline + 1);
      if (lines.length < 200) lines.push(line); // early lines, for waitForLine on start-up output
      for (const listener of [...listeners]) listener(line);
    }
  });
  child.stderr!.on('data', (data: Buffer) => keep(data.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  const stop = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (alive()) {
      child.kill('SIGCONT');
      paused = false;
      child.kill(signal);
    }
    await exit;
  };
  scope.teardown(() => stop('SIGKILL'));
  return {
    name,
    pid: child.pid,
    child,
    get alive() {
      return alive();
    },
    get paused() {
      return paused && alive();
    },
    output: () => output,
    onLine(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    waitForLine(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        for (const line of lines) {
          const match = line.match(pattern);
          if (match) return resolve(match);
        }
        const done = (error?: Error, match?: RegExpMatchArray) => {
          clearTimeout(timer);
          listeners.delete(onLine);
          child.off('exit', onExit);
          if (error) reject(error);
          else resolve(match!);
        };
        const onLine = (line: string) => {
          const match = line.match(pattern);
          if (match) done(undefined, match);
        };
        const onExit = () => done(new Error(`${name} exited before printing ${pattern}; output:\n${output}`));
        const timer = setTimeout(
          () => done(new Error(`${name}: no ${pattern} within ${timeoutMs}ms; output:\n${output}`)),
          timeoutMs,
        );
        listeners.add(onLine);
        child.once('exit', onExit);
        if (!alive()) onExit();
      });
    },
    exited: () => exit,
    stop,
    pause() {
      if (!alive()) return;
      child.kill('SIGSTOP');
      paused = true;
    },
    resume() {
      if (!alive()) return;
      child.kill('SIGCONT');
      paused = false;
    },
  };
}

/**
 * A Scope for scripts (benchmarks): cleanups run in reverse order on `close()`, and on SIGINT
 * or SIGTERM before exiting. The children die with the script anyway (pdeathsig).
 */
export function processScope(): Scope & { close(): Promise<void> } {
  const cleanups: Array<() => void | Promise<void>> = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => {});
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void close().finally(() => process.exit(130)));
  }
  return { teardown: (fn) => void cleanups.push(fn), close };
}

/** A port nothing listens on now (the OS picks it); `accept` can ask for more (a free +10000). */
export async function freePort(accept: (port: number) => Promise<boolean> | boolean = () => true): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = await listenOnce(0);
    if (await accept(port)) return port;
  }
  throw new Error('no suitable free port after 50 tries');
}

/** Whether `port` is free on loopback right now. */
export async function portIsFree(port: number): Promise<boolean> {
  if (port <= 0 || port > 65535) return false;
  return listenOnce(port).then(
    () => true,
    () => false,
  );
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(bound));
    });
  });
}

/** Resolves when `check` returns true (polling), or rejects after `timeoutMs` naming `what`. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(
    `${what}: not within ${timeoutMs}ms${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`,
  );
}
