import test from 'ava';
import { EventBus } from '../../src/events/bus.ts';
import { PluginHost } from '../../src/policy/plugin-host.ts';
import type { Plugin } from '../../src/policy/plugin.ts';
import { silentLogger } from '../../src/util/logger.ts';

function plugin(name: string, log: string[]): Plugin {
  return {
    name,
    onEvent: (event) => void log.push(`${name} saw ${event.reason}`),
    dispose: () => void log.push(`${name} disposed`),
    middleware: async (_ctx, next) => next(),
  };
}

const event = (reason: string) => ({
  type: 'reload' as const,
  scope: 'local' as const,
  time: 0,
  instance: 'i',
  reason,
});

test('a reload swaps listeners; a dropped plugin is disposed at once, a replaced one when the gateway stops', async (t) => {
  const log: string[] = [];
  const bus = new EventBus();
  const host = new PluginHost(bus, silentLogger());
  const first = [plugin('audit', log), plugin('legacy', log)];
  host.use(first);
  bus.emit(event('one'));
  t.deepEqual(log.splice(0), ['audit saw one', 'legacy saw one']);
  t.is(host.middleware().length, 2);

  host.use([plugin('audit', log)]);
  await Promise.resolve();
  t.deepEqual(log.splice(0), ['legacy disposed'], 'legacy is gone: disposed now; the old audit is kept until stop');
  bus.emit(event('two'));
  t.deepEqual(log.splice(0), ['audit saw two'], 'only the new set listens');
  t.is(host.middleware().length, 1);

  await host.disposeAll();
  t.deepEqual(log.sort(), ['audit disposed', 'audit disposed']);
});

test('activate runs every plugin hook; a failing one does not stop the others', async (t) => {
  const calls: string[] = [];
  const host = new PluginHost(new EventBus(), silentLogger());
  host.use([
    { name: 'broken', activate: async () => Promise.reject(new Error('no')) },
    { name: 'ok', activate: async (node) => void calls.push(node.id) },
  ]);
  await host.activate(
    { name: 'db', nodes: [] },
    { id: 'spare', url: new URL('http://x'), weight: 1, tier: 1, standby: 'cold' },
  );
  t.deepEqual(calls, ['spare']);
});
