import type { ZodType } from '../config/zod.ts';
import { pluginBrand, type BrandedPlugin, type Plugin } from './plugin.ts';
import {
  policyDefinitionBrand,
  policyRefBrand,
  type PolicyDefinition,
  type PolicyFactory,
  type NoOptions,
  type PolicyRef,
} from './types.ts';

/**
 * Declares a policy. The result is both the definition (register it in a plugin, or name it
 * in the config) and a factory for choosing it by value with type-checked options:
 * `policy: myPolicy({ … })`. Without `options`, the factory takes none (`NoOptions`).
 */
export function definePolicy<S extends ZodType = NoOptions>(definition: PolicyDefinition<S>): PolicyFactory<S> {
  const factory = ((options?: unknown): PolicyRef => ({
    [policyRefBrand]: true,
    definition: factory as unknown as PolicyDefinition,
    options: options ?? {},
  })) as PolicyFactory<S>;
  Object.defineProperties(factory, {
    name: { value: definition.name, enumerable: true },
    options: { value: definition.options, enumerable: true },
    poolDefaults: { value: definition.poolDefaults, enumerable: true },
    create: { value: definition.create.bind(definition), enumerable: true },
    [policyDefinitionBrand]: { value: true },
  });
  return factory;
}

/** Declares a plugin: a name plus any of the hooks in `Plugin`. */
export function definePlugin<P extends Plugin>(plugin: P): P & BrandedPlugin {
  return Object.defineProperty({ ...plugin }, pluginBrand, { value: true }) as P & BrandedPlugin;
}

// Brands are registered symbols and checks are structural, because a config file loaded at
// run time may import its own copy of this module.

export function isPolicyRef(value: unknown): value is PolicyRef {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[policyRefBrand] === true;
}

export function isPolicyDefinition(value: unknown): value is PolicyDefinition {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  const candidate = value as Partial<PolicyDefinition>;
  return typeof candidate.name === 'string' && candidate.name !== '' && typeof candidate.create === 'function';
}

export function isPlugin(value: unknown): value is Plugin {
  if (typeof value !== 'object' || value === null || isPolicyDefinition(value)) return false;
  const candidate = value as Partial<Plugin>;
  const hooks = ['onEvent', 'activate', 'middleware', 'dispose'] as const;
  return (
    typeof candidate.name === 'string' &&
    candidate.name !== '' &&
    (Array.isArray(candidate.policies) || hooks.some((hook) => typeof candidate[hook] === 'function'))
  );
}
