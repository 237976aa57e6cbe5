import http from 'node:http';

export interface LoadResult {
  readonly sent: number;
  readonly ok: number;
  readonly failures: Array<{ status: number; error?: string; body?: string }>;
  /** Latency in ms of every successful request. */
  readonly latencies: number[];
}

/**
 * Steady open-loop load: `rate` requests per second for `durationMs`, each one on its own
 * schedule (a slow answer does not hold the next request back), through a keep-alive agent.
 */
export async function steadyLoad(
  url: string,
  options: { rate: number; durationMs: number; method?: string; body?: string; timeoutMs?: number },
): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const failures: LoadResult['failures'] = [];
  const latencies: number[] = [];
  let ok = 0;
  let sent = 0;
  const pending: Promise<void>[] = [];
  const interval = 1000 / options.rate;
  const started = Date.now();
  for (let i = 0; ; i++) {
    const due = started + i * interval;
    if (due - started >= options.durationMs) break;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    sent += 1;
    pending.push(
      once(url, agent, options).then(
        ({ status, body, ms }) => {
          if (status >= 200 && status < 400) {
            ok += 1;
            latencies.push(ms);
          } else failures.push({ status, body });
        },
        (error: Error) => void failures.push({ status: 0, error: error.message }),
      ),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  return { sent, ok, failures, latencies };
}

function once(
  url: string,
  agent: http.Agent,
  options: { method?: string; body?: string; timeoutMs?: number },
): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', agent }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(options.body);
  });
}
