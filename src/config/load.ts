import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultExport, importModule } from '../util/import-module.ts';
import { loadPlugins } from '../policy/loader.ts';
import type { Plugin } from '../policy/plugin.ts';
import { ConfigError, validateConfig, type ConfigProblem } from './validate.ts';
import { pemFiles } from './tls-settings.ts';
import type { GatewaySettings } from './types.ts';

export interface LoadOptions {
  /** The built-in plugins (plugins/index.ts); passed in so config/ does not depend on plugins/. */
  readonly builtins: readonly Plugin[];
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly command?: string;
}

/**
 * Reads `gateway.config.ts` (or .js/.mjs) at run time: the default export is a config object
 * or a function of the environment. Loads the plugins it lists, then validates everything
 * (PEM file paths are relative to the config file).
 * Throws ConfigError listing every problem.
 */
export async function loadConfig(file: string, options: LoadOptions): Promise<GatewaySettings> {
  const path = resolve(file);
  const env = options.env ?? process.env;
  const raw = await readConfigModule(path, env, options.command ?? 'start');
  const listed = (raw as { plugins?: unknown } | null)?.plugins;
  const loaded = Array.isArray(listed) ? await loadPlugins(listed, path) : { plugins: [], problems: [], files: [] };
  const result = validateConfig(raw, {
    plugins: [...options.builtins.map((plugin) => ({ plugin, path: '' })), ...loaded.plugins],
    env,
    baseDir: dirname(path),
  });
  const problems = [...loaded.problems, ...(result.ok ? [] : result.problems)];
  if (problems.length > 0 || !result.ok) throw new ConfigError(problems);
  const settings = result.settings;
  const pems = pemFiles(
    settings.listeners,
    [...settings.pools.values()].map((pool) => pool.tls),
  );
  return { ...settings, sources: [path, ...loaded.files, ...pems] };
}

async function readConfigModule(
  path: string,
  env: Readonly<Record<string, string | undefined>>,
  command: string,
): Promise<unknown> {
  const fail = (message: string): never => {
    throw new ConfigError([{ path: '', message } satisfies ConfigProblem]);
  };
  if (!existsSync(path)) fail(`config file not found: ${path}`);
  let module: Record<string, unknown>;
  try {
    module = await importModule(pathToFileURL(path).href, import.meta.url);
  } catch (error) {
    return fail(`cannot load ${path}: ${(error as Error).message.split('\n').slice(0, 3).join(' ')}`);
  }
  const exported = defaultExport(module);
  if (exported === undefined) fail(`${path} has no default export (export default defineConfig({ ... }))`);
  try {
    return typeof exported === 'function' ? await exported({ env, command }) : exported;
  } catch (error) {
    return fail(`the config function in ${path} threw: ${(error as Error).message}`);
  }
}
