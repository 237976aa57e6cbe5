import { readdirSync, readFileSync } from 'node:fs';
import type { Gateway } from './cluster.ts';
import type { History } from './history.ts';

/**
 * Watches each gateway process from outside, for failures a timeline alone cannot explain (an
 * instance whose admin API answers while clients' connections to it time out): every 2 s, the
 * accept queue of its listening socket (/proc/net/tcp, rx_queue of the LISTEN entry) and its
 * open file descriptors. A queue that stays full means it stopped accepting; a growing fd count
 * means it leaks sockets. Noted in the history only when out of the ordinary.
 */
export function watchGateways(
  gateways: readonly Gateway[],
  history: History,
  options: { everyMs?: number; queue?: number; fds?: number } = {},
): () => void {
  const timer = setInterval(() => {
    const queues = listenQueues();
    for (const gateway of gateways) {
      const pid = gateway.pid;
      if (pid === undefined || gateway.port === 0) continue;
      const queue = queues.get(gateway.port) ?? 0;
      const fds = openFds(pid);
      if (queue >= (options.queue ?? 8) || fds >= (options.fds ?? 1000)) {
        history.events.push({
          at: history.now(),
          instance: gateway.id,
          type: 'diagnostic',
          reason: `accept queue ${queue} on :${gateway.port}, ${fds} open fds`,
        });
      }
    }
  }, options.everyMs ?? 2000);
  return () => clearInterval(timer);
}

/** Listening port → connections waiting to be accepted. */
function listenQueues(): Map<number, number> {
  const out = new Map<number, number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] !== '0A') continue; // LISTEN
      const port = parseInt(fields[1]!.split(':')[1]!, 16);
      const queue = parseInt(fields[4]!.split(':')[1]!, 16);
      out.set(port, Math.max(out.get(port) ?? 0, queue));
    }
  }
  return out;
}

function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}
