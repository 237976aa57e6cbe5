import { join } from 'node:path';
import { repoRoot } from '../../helpers/process.ts';
import { spawnTethered, type Scope, type Tethered } from '../../helpers/tethered.ts';

/** The relay process (relay-host.ts): one command at a time, each answered. */
export class Relays {
  readonly #process: Tethered;
  readonly #waiting = new Map<number, { resolve: (result: string) => void; reject: (error: Error) => void }>();
  #next = 0;

  private constructor(process: Tethered) {
    this.#process = process;
    process.onLine((line) => {
      const match = /^(ok|error) (\d+) ?(.*)$/.exec(line);
      const waiter = match && this.#waiting.get(Number(match[2]));
      if (!waiter) return;
      this.#waiting.delete(Number(match![2]));
      if (match![1] === 'ok') waiter.resolve(match![3]!);
      else waiter.reject(new Error(`relays: ${match![3]}`));
    });
  }

  static async start(scope: Scope): Promise<Relays> {
    const process = spawnTethered(
      scope,
      'relays',
      globalThis.process.execPath,
      ['--import', 'tsx', join(repoRoot, 'test/cluster/nemesis/relay-host.ts')],
      { cwd: repoRoot, stdin: true },
    );
    await process.waitForLine(/^relays ready/, 60_000);
    return new Relays(process);
  }

  send(command: string): Promise<string> {
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#process.child.stdin!.write(`${id} ${command}\n`);
    });
  }
}
