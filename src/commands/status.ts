import type { StatusDocument } from '../admin/status.ts';

export interface StatusOptions {
  readonly admin: string;
  readonly token: string | undefined;
  readonly json: boolean;
}

/** `baton status`: the cluster view from the admin API, as a table (or the raw JSON). */
export async function printStatus(
  options: StatusOptions,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const url = new URL('/status', options.admin);
  let response: Response;
  try {
    response = await fetch(url, {
      headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
      signal: AbortSignal.timeout(5000),
    });
  } catch (error) {
    err(`baton: cannot reach the admin API at ${options.admin}: ${(error as Error).cause ?? (error as Error).message}`);
    return 1;
  }
  if (!response.ok) {
    err(`baton: ${url.href} answered ${response.status}: ${await response.text()}`);
    return 1;
  }
  const status = (await response.json()) as StatusDocument;
  if (options.json) out(JSON.stringify(status, null, 2));
  else for (const line of renderStatus(status)) out(line);
  return 0;
}

/** Pure: the status document as lines of text. */
export function renderStatus(status: StatusDocument): string[] {
  const lines: string[] = [];
  const live = status.instances.map((i) => (i.self ? `${i.id} (this)` : i.id)).join(', ');
  lines.push(
    `instance ${status.instance}   store ${status.store} (${status.storeConnected ? 'connected' : 'DISCONNECTED'})`,
  );
  if (status.instances.length > 0) lines.push(`instances ${live}`);
  for (const [name, pool] of Object.entries(status.pools)) {
    lines.push('');
    const active =
      pool.active === null
        ? ''
        : `   active ${pool.active}   epoch ${pool.epoch}${pool.pinned ? '   pinned by an operator' : ''}`;
    lines.push(`pool ${name} (${pool.policy})${active}`);
    const rows = pool.nodes.map((node) => [
      pool.active === node.id ? `* ${node.id}` : `  ${node.id}`,
      String(node.tier),
      String(node.weight),
      node.health,
      node.local,
      node.cluster,
      node.breaker,
      String(node.inflight),
      node.draining ? 'draining' : '',
    ]);
    lines.push(...table(['  NODE', 'TIER', 'WEIGHT', 'HEALTH', 'LOCAL', 'CLUSTER', 'BREAKER', 'INFLIGHT', ''], rows));
  }
  return lines;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const format = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [format(header), ...rows.map(format)];
}
