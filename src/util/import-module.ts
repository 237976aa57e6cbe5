import { tsImport } from 'tsx/esm/api';

/**
 * Imports a TypeScript or JavaScript module at run time (the config file, plugin files and
 * packages). Each call evaluates the module afresh, which is what a reload needs.
 * `parentUrl` is the file the specifier is resolved from.
 */
export async function importModule(specifier: string, parentUrl: string): Promise<Record<string, unknown>> {
  return (await tsImport(specifier, parentUrl)) as Record<string, unknown>;
}

/**
 * The module's default export. A .ts file outside an ESM package is compiled to CommonJS, and
 * importing it then yields `{ default: { __esModule, default } }`: unwrap that layer.
 */
export function defaultExport(module: Record<string, unknown>): unknown {
  const value = module.default;
  if (value !== null && typeof value === 'object' && (value as { __esModule?: boolean }).__esModule) {
    return (value as { default?: unknown }).default;
  }
  return value;
}
