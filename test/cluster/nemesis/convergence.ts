import type { Violation } from './checker.ts';
import type { History, InstanceView, StatusSample } from './history.ts';

/**
 * The end of a run: once the last fault healed and every instance is back on Redis, do the
 * instances agree (and stay in agreement), and do they hold the drains the operators asked
 * for? Read from /status samples of every instance.
 */

/** What instances must agree on: active node and epoch of each pool, each node's cluster verdict and drain. */
export function signature(view: InstanceView): string {
  return Object.entries(view.pools)
    .map(
      ([pool, p]) =>
        `${pool}: ${p.active ?? '-'}@${p.epoch ?? '-'} ${Object.entries(p.nodes)
          .map(([id, n]) => `${id}=${n.cluster}${n.draining ? '/drained' : ''}`)
          .join(' ')}`,
    )
    .join('; ');
}

export function readable(view: InstanceView | { error: string }): view is InstanceView {
  return !('error' in view);
}

export function describe(sample: StatusSample): string {
  return sample.views
    .map(
      (v, i) =>
        `gw-${i} ${readable(v) ? `${v.connected ? '' : '(Redis lost) '}${signature(v)}` : `unreadable (${v.error})`}`,
    )
    .join(' | ');
}

/** Every instance readable, on Redis, and with the same signature. */
export function agreeing(sample: StatusSample): boolean {
  const views = sample.views;
  if (!views.every(readable) || !views.every((v) => v.connected)) return false;
  const first = signature(views[0]!);
  return views.every((v) => signature(v) === first);
}

export function checkConvergence(
  history: Pick<History, 'samples' | 'operator'>,
  healedAt: number,
  boundMs: number,
): Violation[] {
  const samples = history.samples.filter(
    (s) => s.at >= healedAt && !history.operator.some((a) => a.step === 0 && a.at <= s.at),
  );
  if (samples.length === 0)
    return [{ invariant: 'convergence', at: healedAt, message: 'no /status samples after the last fault healed' }];
  const connected = samples.findIndex((s) => s.views.every((v) => readable(v) && v.connected));
  if (connected === -1) {
    return [
      {
        invariant: 'convergence',
        at: healedAt,
        message: `not every instance was back on Redis ${Math.round(samples.at(-1)!.at - healedAt)} ms after the last fault healed: ${describe(samples.at(-1)!)}`,
      },
    ];
  }
  const out: Violation[] = [];
  let since: number | undefined;
  let example: StatusSample | undefined;
  const episodeOver = (until: number, resolved: boolean) => {
    if (since === undefined) return;
    if (until - since > boundMs || !resolved) {
      out.push({
        invariant: 'convergence',
        at: since,
        message: `instances disagreed for ${Math.round(until - since)} ms${resolved ? '' : ' (until the end of the run)'} after all were back on Redis: ${describe(example!)}`,
      });
    }
    since = undefined;
  };
  for (const sample of samples.slice(connected)) {
    if (agreeing(sample)) episodeOver(sample.at, true);
    else if (since === undefined) [since, example] = [sample.at, sample];
  }
  episodeOver(samples.at(-1)!.at, false);
  const last = samples.at(-1)!;
  if (agreeing(last))
    out.push(...drainIntent(history, last.views[0] as InstanceView, last.at), ...verdictsFromVotes(last));
  return out;
}

/** Every instance finds a node up, so its cluster verdict must be up too (not `unknown` for want of votes). */
function verdictsFromVotes(sample: StatusSample): Violation[] {
  const views = sample.views as InstanceView[];
  const out: Violation[] = [];
  for (const [pool, p] of Object.entries(views[0]!.pools)) {
    for (const [node, n] of Object.entries(p.nodes)) {
      if (n.cluster === 'up' || !views.every((v) => v.pools[pool]?.nodes[node]?.local === 'up')) continue;
      out.push({
        invariant: 'convergence',
        at: sample.at,
        message: `${pool}/${node}: every instance finds it up, yet its cluster verdict is ${n.cluster} on all of them (votes missing?)`,
      });
    }
  }
  return out;
}

/** The drains every instance ended with must be what the last successful operator call on each node asked for. */
function drainIntent(history: Pick<History, 'operator'>, view: InstanceView, at: number): Violation[] {
  const intent = new Map<string, { draining: boolean; how: string }>();
  for (const a of history.operator) {
    if ((a.action !== 'drain' && a.action !== 'enable') || a.status !== 200) continue;
    intent.set(`${a.pool}/${a.node}`, {
      draining: a.action === 'drain',
      how: `${a.action} via ${a.instance} at +${(a.at / 1000).toFixed(3)}s`,
    });
  }
  const out: Violation[] = [];
  for (const [pool, p] of Object.entries(view.pools)) {
    for (const [node, n] of Object.entries(p.nodes)) {
      const wanted = intent.get(`${pool}/${node}`)?.draining ?? false;
      if (n.draining !== wanted) {
        out.push({
          invariant: 'convergence',
          at,
          message: `${pool}/${node} is ${n.draining ? 'drained' : 'enabled'} on every instance, but the operators' last word was ${intent.get(`${pool}/${node}`)?.how ?? 'none (never drained)'}`,
        });
      }
    }
  }
  return out;
}
