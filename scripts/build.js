// `npm run build` (and `prepack`): compiles src/ and plugins/ to dist/ with declarations, and
// copies the files the code reads at run time (the dashboard's HTML). Plain JS: it runs
// before anything is compiled.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

// A clean start: a file removed from src/ must not live on in the package.
rmSync(`${root}dist`, { recursive: true, force: true });
const compiled = spawnSync(process.execPath, [tsc, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);
for (const folder of ['src', 'plugins']) {
  cpSync(`${root}${folder}`, `${root}dist/${folder}`, {
    recursive: true,
    filter: (path) => !path.endsWith('.ts'),
  });
}
