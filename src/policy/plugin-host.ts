import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../util/logger.ts';
import type { NodeInfo, PoolInfo } from './types.ts';
import type { Plugin, RequestMiddleware } from './plugin.ts';

/**
 * The plugins of a running gateway and their hooks: event listeners, cold-standby
 * activation, request middleware. A reload swaps the set; plugins whose name is gone are
 * disposed at once, replaced ones when the gateway stops (a replaced plugin may still own
 * something its successor relies on, such as a standby process it started).
 */
export class PluginHost {
  #plugins: readonly Plugin[] = [];
  #unsubscribe: Array<() => void> = [];
  readonly #replaced: Plugin[] = [];
  readonly #bus: EventBus;
  readonly #log: Logger;

  constructor(bus: EventBus, log: Logger) {
    this.#bus = bus;
    this.#log = log;
  }

  use(plugins: readonly Plugin[]): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    const names = new Set(plugins.map((plugin) => plugin.name));
    for (const old of this.#plugins) {
      if (plugins.includes(old)) continue;
      if (names.has(old.name)) this.#replaced.push(old);
      else void this.#dispose(old);
    }
    this.#plugins = plugins;
    this.#unsubscribe = plugins.flatMap((plugin) =>
      plugin.onEvent ? [this.#bus.subscribe((event) => plugin.onEvent!(event))] : [],
    );
  }

  middleware(): RequestMiddleware[] {
    return this.#plugins.flatMap((plugin) => (plugin.middleware ? [plugin.middleware] : []));
  }

  /** Cold standby: every plugin with an `activate` hook brings the node up. */
  async activate(pool: PoolInfo, node: NodeInfo): Promise<void> {
    for (const plugin of this.#plugins) {
      if (!plugin.activate) continue;
      try {
        await plugin.activate(node, pool);
        this.#log.info({ pool: pool.name, node: node.id, plugin: plugin.name }, 'cold standby activated');
      } catch (error) {
        this.#log.error(
          { pool: pool.name, node: node.id, plugin: plugin.name, err: error },
          'cold standby activation failed',
        );
      }
    }
  }

  async disposeAll(): Promise<void> {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    await Promise.all([...this.#plugins, ...this.#replaced.splice(0)].map((plugin) => this.#dispose(plugin)));
  }

  async #dispose(plugin: Plugin): Promise<void> {
    try {
      await plugin.dispose?.();
    } catch (error) {
      this.#log.warn({ plugin: plugin.name, err: error }, 'plugin dispose failed');
    }
  }
}
