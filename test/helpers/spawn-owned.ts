import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * Processes a test starts die with the test's process, however that ends. Teardowns are not
 * enough: ava's timeout, `--fail-fast` and a SIGKILL of the worker (Stryker's timeout) end the
 * worker without running them, and its redis-servers and upstreams used to live on.
 *
 * The kernel does it without our cooperation: `setpriv --pdeathsig` (util-linux) sets
 * PR_SET_PDEATHSIG, then execs the command, which keeps the setting. The signal comes when the
 * *thread* that forked the child exits. libuv forks from the thread that calls `spawn`: in an
 * ava worker (a process, `workerThreads: false`) that is the main thread, which ends only with
 * the process. Grandchildren do not inherit the setting: a command that starts processes of its
 * own must stop them itself (see `deathSignal`).
 *
 * If we died between the fork and the prctl, the setting would come too late: the shell checks
 * that its parent is still this process before it execs the command. The child keeps one pid
 * from setpriv through the shell to the command, so `child.kill()` reaches the command.
 */
const execIfParentLives = '[ "$PPID" = "$0" ] || exit 1; exec "$@"';

export interface OwnedOptions {
  /** Sent to the child when this process dies. SIGKILL unless the child must clean up after itself. */
  readonly deathSignal?: NodeJS.Signals;
}

/** `command args` wrapped so that it dies with this process: for code that spawns by itself. */
export function ownedCommand(
  command: string,
  args: readonly string[],
  options: OwnedOptions = {},
): { command: string; args: string[] } {
  return {
    command: 'setpriv',
    args: [
      '--pdeathsig',
      options.deathSignal ?? 'SIGKILL',
      '/bin/sh',
      '-c',
      execIfParentLives,
      String(process.pid),
      command,
      ...args,
    ],
  };
}

/** `spawn`, for a child that dies with this process (a missing command exits with 127). */
export function spawnOwned(
  command: string,
  args: readonly string[],
  options: SpawnOptions & OwnedOptions = {},
): ChildProcess {
  const { deathSignal, ...spawnOptions } = options;
  const owned = ownedCommand(command, args, { deathSignal });
  return spawn(owned.command, owned.args, spawnOptions);
}
