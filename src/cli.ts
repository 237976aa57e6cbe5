import { parseArgs } from 'node:util';
import { checkConfig } from './commands/check.ts';
import { reloadFrom, watchFiles } from './commands/reload.ts';
import { loadStartSettings, startGateway, stopOnSignals } from './commands/start.ts';
import { runSupervisor } from './workers/supervisor.ts';
import { isWorkerProcess, runWorker } from './workers/worker.ts';
import { printStatus } from './commands/status.ts';

/** `baton start | check | status`: argument parsing only; the commands live in commands/. */
const usage = `usage:
  baton start  [--config gateway.config.ts] [--watch]
  baton check  [--config gateway.config.ts]
  baton status [--admin http://127.0.0.1:9901] [--token TOKEN] [--json]`;

const out = (line: string) => process.stdout.write(`${line}\n`);

const err = (line: string) => process.stderr.write(`${line}\n`);

async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string', short: 'c', default: 'gateway.config.ts' },
      admin: { type: 'string', default: process.env.BATON_ADMIN_URL ?? 'http://127.0.0.1:9901' },
      token: { type: 'string', default: process.env.BATON_ADMIN_TOKEN },
      json: { type: 'boolean', default: false },
      watch: { type: 'boolean', default: false },
    },
    strict: true,
  });
  switch (command) {
    case 'start': {
      if (isWorkerProcess()) {
        await runWorker(values.config);
        return undefined;
      }
      const settings = await loadStartSettings({ config: values.config });
      if (!settings) return 1;
      if (settings.workers > 1) {
        runSupervisor({ config: values.config, settings, watch: values.watch ?? false, out, err });
        return undefined;
      }
      const started = await startGateway({ config: values.config, settings });
      if (!started) return 1;
      // One reload at a time; a change that arrives meanwhile triggers one more.
      let reloading: Promise<unknown> = Promise.resolve();
      const reload = () => (reloading = reloading.then(() => reloadFrom(values.config, started.gateway, out, err)));
      process.on('SIGHUP', reload);
      // The config file and the plugin files it lists (as of the start).
      const unwatch = values.watch ? watchFiles(started.gateway.settings.sources ?? [values.config], reload) : () => {};
      stopOnSignals(started.gateway, () => {
        unwatch();
        process.exit(0);
      });
      return undefined;
    }
    case 'check':
      return checkConfig(values.config, out, err);
    case 'status':
      return printStatus({ admin: values.admin, token: values.token, json: values.json }, out, err);
    case undefined:
    case 'help':
    case '--help':
      out(usage);
      return command === undefined ? 1 : 0;
    default:
      err(`baton: unknown command '${command}'\n${usage}`);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    err(`baton: ${(error as Error).message}`);
    process.exitCode = 1;
  },
);
