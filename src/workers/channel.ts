import type { Worker } from 'node:cluster';
import { isTagged, tag, type Tagged } from './ipc-protocol.ts';

/** One end of an IPC link: what the store and the supervisor need, whatever carries it. */
export interface Channel<Out, In> {
  send(message: Out): void;
  /** Returns an unsubscribe. */
  onMessage(listener: (message: In) => void): () => void;
}

/** The worker's end: its IPC link to the cluster primary. */
export function parentChannel<Out extends object, In>(): Channel<Out, In> {
  return {
    send(message) {
      // A worker whose supervisor is gone has nobody to tell; it exits on 'disconnect'.
      if (process.connected) process.send!(tag(message));
    },
    onMessage(listener) {
      const handler = (message: unknown) => {
        if (isTagged<In>(message)) listener(message as Tagged<In>);
      };
      process.on('message', handler);
      return () => process.off('message', handler);
    },
  };
}

/** The supervisor's end of one worker's link. */
export function workerChannel<Out extends object, In>(worker: Worker): Channel<Out, In> {
  return {
    send(message) {
      if (worker.isConnected()) worker.send(tag(message));
    },
    onMessage(listener) {
      const handler = (message: unknown) => {
        if (isTagged<In>(message)) listener(message as Tagged<In>);
      };
      worker.on('message', handler);
      return () => worker.off('message', handler);
    },
  };
}
