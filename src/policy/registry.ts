import type { Plugin } from './plugin.ts';
import type { PolicyDefinition } from './types.ts';

/**
 * Policies by name, built from the plugins a gateway loads (built-ins first). Not a global:
 * each gateway, and each reload, builds its own.
 */
export interface PolicyRegistry {
  get(name: string): PolicyDefinition | undefined;
  names(): string[];
}

export interface RegistryProblem {
  /** Index into the plugin list that was passed in. */
  readonly pluginIndex: number;
  readonly message: string;
}

export function buildPolicyRegistry(plugins: readonly Plugin[]): {
  registry: PolicyRegistry;
  problems: RegistryProblem[];
} {
  const byName = new Map<string, PolicyDefinition>();
  const pluginNames = new Map<string, number>();
  const problems: RegistryProblem[] = [];
  plugins.forEach((plugin, pluginIndex) => {
    const earlier = pluginNames.get(plugin.name);
    if (earlier !== undefined) {
      problems.push({ pluginIndex, message: `duplicate plugin name '${plugin.name}'` });
      return;
    }
    pluginNames.set(plugin.name, pluginIndex);
    for (const policy of plugin.policies ?? []) {
      if (byName.has(policy.name)) {
        problems.push({ pluginIndex, message: `duplicate policy name '${policy.name}' (plugin '${plugin.name}')` });
        continue;
      }
      byName.set(policy.name, policy);
    }
  });
  return {
    registry: { get: (name) => byName.get(name), names: () => [...byName.keys()].sort() },
    problems,
  };
}
