import type { Violation } from './checker.ts';
import { describe, readable } from './convergence.ts';
import type { History } from './history.ts';
import { isRedisFault, outages, within } from './windows.ts';

/**
 * Operators stay in charge: a forced failover is refused as a lost race only when some other
 * change did win (not because an instance and Redis disagree on the epoch, which refuses every
 * failover forever), and after the run a forced failover through each of two instances answers
 * 200 and every instance follows within the bound.
 */

export function checkOperatorControl(
  history: Pick<History, 'samples' | 'operator' | 'events' | 'faults'>,
  pool: string,
  boundMs: number,
  graceMs: number,
): Violation[] {
  return [...unexplainedRefusals(history, pool, graceMs), ...finalControl(history, boundMs)];
}

/** A "lost race" with no winner: no instance saw a change within `graceMs` before it or 1 s after, and Redis was up. */
function unexplainedRefusals(
  history: Pick<History, 'operator' | 'events' | 'faults'>,
  pool: string,
  graceMs: number,
): Violation[] {
  const redisOut = outages(history.faults, isRedisFault, graceMs);
  const out: Violation[] = [];
  for (const action of history.operator) {
    if (action.step === 0 || action.pool !== pool || action.status !== 409 || !action.body?.includes('won the race'))
      continue;
    const from = action.at - graceMs;
    const until = (action.endedAt ?? action.at) + 1000;
    const changed = history.events.some(
      (e) => e.type === 'promotion' && e.pool === pool && e.at >= from && e.at <= until,
    );
    if (changed || within(action.at, redisOut) || within(action.endedAt ?? action.at, redisOut)) continue;
    out.push({
      invariant: 'operator-control',
      at: action.at,
      message: `${action.action} via ${action.instance} refused as a lost race, but no instance saw any change from ${graceMs} ms before to 1 s after, with Redis up`,
    });
  }
  return out;
}

/** The final forced failovers: 200 each, and every instance on the new state within the bound. */
function finalControl(history: Pick<History, 'samples' | 'operator'>, boundMs: number): Violation[] {
  const out: Violation[] = [];
  for (const action of history.operator.filter((a) => a.step === 0)) {
    const at = action.endedAt ?? action.at;
    if (action.status !== 200) {
      out.push({
        invariant: 'operator-control',
        at,
        message: `${action.action} via ${action.instance} after the run: ${action.status} ${action.body ?? ''}`,
      });
      continue;
    }
    const { active, epoch } = JSON.parse(action.body ?? '{}') as { active?: string; epoch?: number };
    const followed = history.samples.find(
      (s) =>
        s.at >= at &&
        s.views.every(
          (v) => readable(v) && v.pools[action.pool]?.active === active && v.pools[action.pool]?.epoch === epoch,
        ),
    );
    if (!followed || followed.at - at > boundMs) {
      const later = history.samples.filter((s) => s.at >= at + boundMs)[0];
      out.push({
        invariant: 'operator-control',
        at,
        message: `${action.action} via ${action.instance} answered ${active}@${epoch}, but not every instance showed it within ${boundMs} ms${later ? `: ${describe(later)}` : ''}`,
      });
    }
  }
  return out;
}
