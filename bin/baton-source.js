#!/usr/bin/env node
// The CLI from the TypeScript sources, for development and the tests (`npm run baton`): no
// build. Imports of 'baton' resolve to src/ through the `baton-source` export condition, as
// under `node --conditions=baton-source`. Not part of the package.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register(
  'data:text/javascript,' +
    encodeURIComponent(
      'export function resolve(specifier, context, next) {' +
        "  return next(specifier, { ...context, conditions: [...context.conditions, 'baton-source'] });" +
        '}',
    ),
);
await import('../src/cli.ts');
