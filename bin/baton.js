#!/usr/bin/env node
// The compiled CLI (dist/, built by `npm run build` and before `npm pack`). tsx only loads
// the user's TypeScript config and plugin files.
try {
  await import('../dist/src/cli.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/src/cli.js')) throw error;
  process.stderr.write(
    'baton: dist/ is missing: run `npm run build` (or `npm run baton -- <command>` to run from the sources)\n',
  );
  process.exitCode = 1;
}
