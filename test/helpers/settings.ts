import { builtinPlugins } from '../../plugins/index.ts';
import type { GatewaySettings } from '../../src/config/types.ts';
import { validateConfig, formatProblem } from '../../src/config/validate.ts';
import type { Plugin } from '../../src/policy/plugin.ts';

/** Validates a config object the way `baton start` does, with the built-in policies. */
export function settingsFor(
  raw: unknown,
  options: { plugins?: Plugin[]; env?: Record<string, string>; baseDir?: string } = {},
): GatewaySettings {
  const result = validateConfig(raw, {
    plugins: [...builtinPlugins, ...(options.plugins ?? [])].map((plugin, index) => ({
      plugin,
      path: `plugins[${index}]`,
    })),
    env: options.env ?? {},
    baseDir: options.baseDir,
  });
  if (!result.ok) throw new Error(`test config is invalid:\n${result.problems.map(formatProblem).join('\n')}`);
  return result.settings;
}

/** The problems of an invalid config, as `path: message` lines. */
export function problemsFor(
  raw: unknown,
  options: { plugins?: Plugin[]; env?: Record<string, string>; baseDir?: string } = {},
): string[] {
  const result = validateConfig(raw, {
    plugins: [...builtinPlugins, ...(options.plugins ?? [])].map((plugin, index) => ({
      plugin,
      path: `plugins[${index}]`,
    })),
    env: options.env ?? {},
    baseDir: options.baseDir,
  });
  return result.ok ? [] : result.problems.map(formatProblem);
}
