import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * CPU seconds (user + system) a process has used so far, from /proc; with `thread`, that one
 * thread's (the main thread's id is the pid).
 */
export function cpuSeconds(pid: number, thread?: number): number {
  const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after the command name: utime is the 12th, stime the 13th (0-based 11, 12).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds of a process and all its descendants (a supervisor and its workers). */
export function treeCpuSeconds(pid: number): number {
  let total = cpuSeconds(pid);
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    for (const child of children ? children.split(' ') : []) {
      try {
        total += treeCpuSeconds(Number(child));
      } catch {
        // The child exited meanwhile.
      }
    }
  }
  return total;
}

/** Starts a Node process and resolves once a line of its stdout matches `ready`. */
export function startNode(
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = {},
  cpu?: number,
): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    // Optionally pinned to one CPU (taskset), so that load generator and proxy do not compete.
    const [command, argv] =
      cpu === undefined ? [process.execPath, args] : ['taskset', ['-c', String(cpu), process.execPath, ...args]];
    const child = spawn(command, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const onData = (data: Buffer) => {
      out += data.toString();
      const match = out.match(ready);
      if (match) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve({ child, match });
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}:\n${out}`)));
  });
}

/** The two small upstreams of bench/lib/hello-upstreams.ts, optionally pinned to one CPU. */
export async function startHelloUpstreams(cpu?: number): Promise<{ child: ChildProcess; ports: [string, string] }> {
  const script = fileURLToPath(new URL('./hello-upstreams.ts', import.meta.url));
  const { child, match } = await startNode(['--import', 'tsx', script], /listening (\d+) (\d+)/, {}, cpu);
  return { child, ports: [match[1]!, match[2]!] };
}

export function stopAll(children: ChildProcess[]): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
}
