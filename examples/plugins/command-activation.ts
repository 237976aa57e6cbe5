import { spawn, type ChildProcess } from 'node:child_process';
import { definePlugin, type NodeInfo, type PoolInfo } from 'baton';

/**
 * Cold standby activation by running a command: when a node with `standby: 'cold'` is promoted,
 * this runs `command` with the node's details in its arguments (`{id}`, `{url}`, `{host}`,
 * `{port}`, `{pool}`) and environment (BATON_NODE_ID, BATON_NODE_URL, BATON_POOL). The gateway
 * then holds traffic (up to the pool's `retry.waitForNode`) until the node's heartbeat passes.
 *
 *   plugins: [commandActivation({ command: 'systemctl', args: ['start', 'api-{id}'] })]
 *
 * `until: 'exit'` (default) waits for the command to finish (a start script); `until: 'spawn'`
 * treats the command itself as the service and keeps it running until the gateway stops.
 */
export interface CommandActivationOptions {
  readonly command: string;
  readonly args?: readonly string[];
  readonly until?: 'exit' | 'spawn';
  /** Fail the activation if the command has not finished after this many ms (until: 'exit'). */
  readonly timeoutMs?: number;
}

export function commandActivation(options: CommandActivationOptions) {
  const running = new Set<ChildProcess>();
  return definePlugin({
    name: 'command-activation',
    activate(node, pool) {
      const child = spawn(
        options.command,
        (options.args ?? []).map((arg) => fill(arg, node, pool)),
        {
          env: { ...process.env, BATON_NODE_ID: node.id, BATON_NODE_URL: node.url.href, BATON_POOL: pool.name },
          stdio: 'ignore',
        },
      );
      if (options.until === 'spawn') {
        running.add(child);
        child.once('exit', () => running.delete(child));
        return new Promise((resolve, reject) => {
          child.once('spawn', () => resolve());
          child.once('error', reject);
        });
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`activation of ${node.id} timed out`));
        }, options.timeoutMs ?? 60_000);
        child.once('error', reject);
        child.once('exit', (code) => {
          clearTimeout(timer);
          if (code === 0) resolve();
          else reject(new Error(`activation command for ${node.id} exited with ${code}`));
        });
      });
    },
    dispose() {
      for (const child of running) child.kill('SIGTERM');
    },
  });
}

function fill(arg: string, node: NodeInfo, pool: PoolInfo): string {
  return arg
    .replaceAll('{id}', node.id)
    .replaceAll('{url}', node.url.href)
    .replaceAll('{host}', node.url.hostname)
    .replaceAll('{port}', node.url.port)
    .replaceAll('{pool}', pool.name);
}
