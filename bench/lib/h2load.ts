import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

/** h2load (Debian's nghttp2-client): HTTP/2 load with `clients` connections, `streams` concurrent streams each. */
export const h2loadPath = ['/usr/bin/h2load', '/usr/local/bin/h2load'].find((path) => existsSync(path));

export interface H2loadResult {
  readonly rps: number;
  readonly meanMs: number;
  readonly succeeded: number;
  readonly failed: number;
}

export async function h2load(
  url: string,
  options: { clients: number; streams: number; seconds: number },
): Promise<H2loadResult> {
  if (!h2loadPath) throw new Error('h2load is not installed (apt-get install nghttp2-client)');
  const args = ['-c', String(options.clients), '-m', String(options.streams), '-D', String(options.seconds), url];
  const { stdout } = await promisify(execFile)(h2loadPath, args, { maxBuffer: 16 * 1024 * 1024 });
  const rps = Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(stdout)?.[1]);
  const requests =
    /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      stdout,
    );
  const mean = /time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)/.exec(stdout);
  if (!Number.isFinite(rps) || !requests || !mean) throw new Error(`cannot read h2load's output:\n${stdout}`);
  const unit = { us: 0.001, ms: 1, s: 1000 }[mean[2] as 'us' | 'ms' | 's'];
  return {
    rps,
    meanMs: Number(mean[1]) * unit,
    succeeded: Number(requests[1]),
    failed: Number(requests[2]) + Number(requests[3]) + Number(requests[4]),
  };
}
