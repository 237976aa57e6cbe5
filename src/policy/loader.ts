import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultExport, importModule } from '../util/import-module.ts';
import { isPlugin, isPolicyDefinition } from './define.ts';
import type { Plugin } from './plugin.ts';
import type { PluginEntry, ConfigProblem } from '../config/validate.ts';

/**
 * Turns the config's `plugins: [...]` into plugin values: file paths (relative to the config
 * file), package names, or values. A module's default export may be a plugin or a single policy.
 */
export async function loadPlugins(
  entries: readonly unknown[],
  configFile: string,
): Promise<{ plugins: PluginEntry[]; problems: ConfigProblem[]; files: string[] }> {
  const plugins: PluginEntry[] = [];
  const problems: ConfigProblem[] = [];
  const files: string[] = [];
  for (const [index, entry] of entries.entries()) {
    const path = `plugins[${index}]`;
    if (typeof entry === 'string' && (entry.startsWith('.') || isAbsolute(entry)))
      files.push(resolve(configFile, '..', entry));
    try {
      const plugin =
        typeof entry === 'string' ? await loadFromModule(entry, configFile) : asPlugin(entry, 'this value');
      plugins.push({ plugin, path });
    } catch (error) {
      problems.push({ path, message: (error as Error).message });
    }
  }
  return { plugins, problems, files };
}

function asPlugin(value: unknown, what: string): Plugin {
  if (isPlugin(value)) return value;
  if (isPolicyDefinition(value)) return { name: value.name, policies: [value] };
  throw new Error(`${what} is not a plugin: export definePlugin({ name, ... }) or definePolicy({ name, create })`);
}

async function loadFromModule(specifier: string, configFile: string): Promise<Plugin> {
  const isPath = specifier.startsWith('.') || isAbsolute(specifier);
  let target = specifier;
  if (isPath) {
    target = resolve(configFile, '..', specifier);
    if (!existsSync(target)) throw new Error(`plugin file not found: ${target}`);
    target = pathToFileURL(target).href;
  }
  let module: Record<string, unknown>;
  try {
    module = await importModule(target, pathToFileURL(configFile).href);
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    throw new Error(
      isPath ? `cannot load plugin ${specifier}: ${reason}` : `cannot load plugin package '${specifier}': ${reason}`,
    );
  }
  const exported = defaultExport(module);
  if (exported === undefined) throw new Error(`${specifier} has no default export`);
  return asPlugin(exported, specifier);
}
