import { BatonError } from '../util/errors.ts';
import type { MemoryHub } from '../state/memory-store.ts';
import type { Channel } from './channel.ts';
import type { JoinAnswer, StoreNotice, StoreRequest } from './ipc-protocol.ts';

/**
 * The supervisor's side of the in-memory store: one MemoryHub for the machine, and every
 * worker a member of it over IPC. A worker's link going away (a crash) leaves its members, so
 * a dead worker's votes stop counting at once, as a stopped instance's do.
 */
export class HubHost {
  readonly #hub: MemoryHub;

  constructor(hub: MemoryHub) {
    this.#hub = hub;
  }

  /** Serves the store calls arriving on `channel`; the returned function detaches it. */
  attach(channel: Channel<StoreNotice, unknown>): () => void {
    const members = new Set<string>();
    const unsubscribe = channel.onMessage((message) => {
      if (isStoreRequest(message)) this.#handle(channel, members, message);
    });
    return () => {
      unsubscribe();
      for (const id of members) this.#hub.leave(id);
      members.clear();
    };
  }

  #handle(channel: Channel<StoreNotice, unknown>, members: Set<string>, message: StoreRequest): void {
    const hub = this.#hub;
    switch (message.kind) {
      case 'store.join': {
        try {
          hub.join(message.id, (change) => channel.send({ kind: 'store.change', to: message.id, change }));
        } catch (error) {
          const known = error instanceof BatonError ? error : undefined;
          channel.send({
            kind: 'store.reply',
            rid: message.rid,
            error: { code: known?.code ?? 'INTERNAL', detail: known?.detail ?? (error as Error).message },
          });
          return;
        }
        members.add(message.id);
        const answer: JoinAnswer = {
          snapshot: hub.snapshot(),
          quorum: hub.quorum,
          now: hub.now(),
          members: hub.instances(message.id).map((info) => ({ id: info.id, startedAt: info.startedAt })),
        };
        channel.send({ kind: 'store.reply', rid: message.rid, value: answer });
        return;
      }
      case 'store.leave':
        // Only the link that joined may leave: a refused twin's stop must not end the original.
        if (members.delete(message.id)) hub.leave(message.id);
        return;
      case 'store.vote':
        if (members.has(message.id)) hub.vote(message.id, message.pool, message.node, message.verdict, message.reason);
        return;
      case 'store.propose': {
        const state = members.has(message.id) ? hub.propose(message.id, message.pool, message.proposal) : undefined;
        channel.send({ kind: 'store.reply', rid: message.rid, value: state ?? null });
        return;
      }
      case 'store.drain':
        if (members.has(message.id)) hub.setDrain(message.id, message.pool, message.node, message.draining);
        channel.send({ kind: 'store.reply', rid: message.rid, value: null });
        return;
      case 'store.retain':
        if (members.has(message.id)) hub.retain(new Map(message.pools.map(([pool, nodes]) => [pool, [...nodes]])));
        return;
    }
  }
}

function isStoreRequest(message: unknown): message is StoreRequest {
  const kind = (message as { kind?: unknown }).kind;
  return typeof kind === 'string' && kind.startsWith('store.');
}
