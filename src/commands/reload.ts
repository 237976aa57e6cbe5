import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { builtinPlugins } from '../../plugins/index.ts';
import { loadConfig } from '../config/load.ts';
import { ConfigError, formatProblem } from '../config/validate.ts';
import type { GatewaySettings } from '../config/types.ts';
import type { Gateway } from '../gateway.ts';

/**
 * Re-reads the config and applies it to a running gateway. An invalid config is refused with
 * the same messages as `baton check`, and the running config keeps serving.
 */
export async function reloadFrom(
  file: string,
  gateway: Gateway,
  out: (line: string) => void,
  err: (line: string) => void,
  /** Workers: what a worker changes in the settings it runs (its instance id, its admin API). */
  adapt: (settings: GatewaySettings) => GatewaySettings = (settings) => settings,
): Promise<boolean> {
  try {
    const settings = adapt(await loadConfig(file, { builtins: builtinPlugins, command: 'start' }));
    const result = gateway.reload(settings);
    out(
      `baton: reloaded ${file}: ${
        [
          result.added.length ? `+${result.added.join(',')}` : '',
          result.changed.length ? `~${result.changed.join(',')}` : '',
          result.removed.length ? `-${result.removed.join(',')}` : '',
        ]
          .filter(Boolean)
          .join(' ') || 'pools unchanged'
      }, ${result.routes} routes`,
    );
    if (result.restartNeeded.length)
      err(`baton: these changes need a restart and were not applied: ${result.restartNeeded.join(', ')}`);
    return true;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    err(`baton: reload refused, ${file} has problems (still serving the previous config):`);
    for (const problem of error.problems) err(`  ${formatProblem(problem)}`);
    gateway.events.emit({
      type: 'reload',
      scope: 'local',
      time: gateway.clock.now(),
      instance: gateway.store.instanceId,
      to: 'refused',
      reason: `reload refused: ${error.problems.map(formatProblem).join('; ')}`,
    });
    return false;
  }
}

/**
 * Calls `onChange` (debounced) when one of the files changes. Watches the directories, not the
 * files: editors save by replacing the file, which ends a watch on the file itself.
 */
export function watchFiles(files: readonly string[], onChange: () => void, debounceMs = 200): () => void {
  let timer: NodeJS.Timeout | undefined;
  const trigger = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  };
  const byDir = new Map<string, Set<string>>();
  for (const file of files.map((f) => resolve(f))) {
    const names = byDir.get(dirname(file)) ?? new Set<string>();
    names.add(basename(file));
    byDir.set(dirname(file), names);
  }
  const watchers: FSWatcher[] = [...byDir].map(([dir, names]) =>
    watch(dir, (_event, name) => {
      if (name && names.has(name.toString())) trigger();
    }),
  );
  return () => {
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}
