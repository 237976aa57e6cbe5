/**
 * The relays of a nemesis run (relay.ts), in a process of their own so that a busy test process
 * does not slow the traffic between gateways and upstreams. Driven by lines `<id> <command>` on
 * stdin, each answered with `ok <id> [result]` or `error <id> <message>` on stdout:
 *   open <node> <gateway> <upstream port>   relay for that pair; answers `ok … <relay port>`
 *   down <node> | up <node>                 the node died (refuse, reset) | is back
 *   cut <node> <gateway> | heal <node> <gateway>
 */
import { createInterface } from 'node:readline';
import { Relay } from './relay.ts';

const relays = new Map<string, Relay[]>();

async function handle(words: string[]): Promise<string> {
  const [command, node = '', gateway, port] = words;
  const all = relays.get(node) ?? [];
  const one = () => {
    const relay = all[Number(gateway)];
    if (!relay) throw new Error(`no relay for ${node} and gateway ${gateway}`);
    return relay;
  };
  switch (command) {
    case 'open': {
      const relay = new Relay(() => Number(port));
      await relay.open();
      all[Number(gateway)] = relay;
      relays.set(node, all);
      return String(relay.port);
    }
    case 'down':
      await Promise.all(all.map((relay) => relay.close()));
      return '';
    case 'up':
      await Promise.all(all.map((relay) => relay.open()));
      return '';
    case 'cut':
      one().partition();
      return '';
    case 'heal':
      one().heal();
      return '';
    default:
      throw new Error(`unknown command ${command}`);
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const [id, ...words] = line.trim().split(/\s+/);
  handle(words).then(
    (result) => process.stdout.write(`ok ${id}${result ? ` ${result}` : ''}\n`),
    (error: Error) => process.stdout.write(`error ${id} ${error.message}\n`),
  );
});
process.stdin.on('end', () => process.exit(0));
process.stdout.write('relays ready\n');
