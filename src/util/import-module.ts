import { tsImport } from 'tsx/esm/api';

/**
 * Imports a TypeScript or JavaScript module at run time (the config file, plugin files and
 * packages). Each call evaluates the module afresh, which is what a reload needs.
 * `parentUrl` is the file the specifier is resolved from.
 */
export async function importModule(specifier: string, parentUrl: string): Promise<Record<string, unknown>> {
  return (await tsImport(specifier, parentUrl)) as Record<string, unknown>;
}
