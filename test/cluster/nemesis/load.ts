import http from 'node:http';
import type { Gateway } from './cluster.ts';
import type { History, RequestRecord } from './history.ts';
import { Random } from './random.ts';

/**
 * Steady open-loop traffic through every gateway that takes load (as a load balancer in front
 * of them would send it): GETs and POSTs, each with a unique id (X-Request-Id, which reaches the
 * upstream), to both pools. Every request and its outcome go into the history.
 */

export interface LoadOptions {
  readonly rate: number;
  readonly pools: readonly string[];
  readonly seed: number;
  /** Share of POSTs (default 0.3). */
  readonly postShare?: number;
  readonly timeoutMs?: number;
}

export interface Load {
  /** Stops sending and resolves once every request in flight has ended. */
  stop(): Promise<void>;
}

export function startLoad(gateways: readonly Gateway[], history: History, options: LoadOptions): Load {
  // Its own random stream: the traffic mix does not shift the fault schedule.
  const rng = new Random(options.seed ^ 0x5eed);
  const pending = new Set<Promise<void>>();
  const interval = 1000 / options.rate;
  const started = performance.now();
  let sent = 0;
  let next = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    if (stopped) return;
    const due = Math.floor((performance.now() - started) / interval);
    for (; sent <= due; sent++) {
      const targets = gateways.filter((g) => g.takesLoad);
      if (targets.length === 0) continue;
      const gateway = targets[next++ % targets.length]!;
      const record: RequestRecord = {
        id: `r${options.seed}-${sent}`,
        pool: rng.pick(options.pools),
        method: rng.chance(options.postShare ?? 0.3) ? 'POST' : 'GET',
        gateway: gateway.index,
        sentAt: history.now(),
      };
      history.requests.push(record);
      const request = send(gateway, record, history, options.timeoutMs ?? 20_000);
      pending.add(request);
      void request.finally(() => pending.delete(request));
    }
    timer = setTimeout(tick, Math.max(1, interval / 2));
  };
  tick();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await Promise.all([...pending]);
    },
  };
}

function send(gateway: Gateway, record: RequestRecord, history: History, timeoutMs: number): Promise<void> {
  const body = record.method === 'POST' ? JSON.stringify({ id: record.id }) : undefined;
  return new Promise((resolve) => {
    const finish = (status: number, node: string | undefined, error?: string) => {
      if (record.endedAt !== undefined) return;
      record.endedAt = history.now();
      record.status = status;
      record.node = node;
      if (error) record.error = error;
      resolve();
    };
    const req = http.request(
      {
        host: '127.0.0.1',
        port: gateway.port,
        method: record.method,
        path: `/${record.pool}/${record.method === 'GET' ? 'read' : 'write'}/${record.id}`,
        // A fresh connection per request: a keep-alive race with the gateway is not what is tested.
        agent: false,
        headers: {
          'x-request-id': record.id,
          ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => finish(0, undefined, `response: ${error.message}`));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: { node?: string; error?: { code?: string } } = {};
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: kept as the error text below
          }
          const status = res.statusCode ?? 0;
          finish(
            status,
            parsed.node ?? parsed.error?.code,
            status >= 500 ? (parsed.error?.code ?? text.slice(0, 120)) : undefined,
          );
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => finish(0, undefined, error.message));
    req.end(body);
  });
}
