import { builtinPlugins } from '../../plugins/index.ts';
import { loadConfig } from '../config/load.ts';
import { ConfigError, formatProblem } from '../config/validate.ts';

/** `baton check`: exit code 0 and a summary, or 1 and one line per problem with its path. */
export async function checkConfig(
  file: string,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  try {
    const settings = await loadConfig(file, { builtins: builtinPlugins, command: 'check' });
    const nodes = [...settings.pools.values()].reduce((sum, pool) => sum + pool.nodes.length, 0);
    out(`${file}: OK (${settings.pools.size} pools, ${nodes} nodes, ${settings.routes.length} routes)`);
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) err(formatProblem(problem));
    return 1;
  }
}
