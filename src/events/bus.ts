import type { GatewayEvent } from './types.ts';

/** An event with its place in this instance's sequence (the SSE event id). */
export interface NumberedEvent {
  readonly seq: number;
  readonly event: GatewayEvent;
}

/**
 * Fan-out of gateway events to the /events stream, logs, metrics and plugins, plus a short
 * history so a dashboard that connects late still sees what just happened.
 */
export class EventBus {
  readonly #listeners = new Set<(event: GatewayEvent, seq: number) => void>();
  readonly #history: NumberedEvent[] = [];
  readonly #historySize: number;
  #seq = 0;

  constructor(historySize = 200) {
    this.#historySize = historySize;
  }

  emit(event: GatewayEvent): void {
    const seq = ++this.#seq;
    this.#history.push({ seq, event });
    if (this.#history.length > this.#historySize) this.#history.shift();
    for (const listener of this.#listeners) {
      try {
        listener(event, seq);
      } catch {
        // A failing listener (a plugin, a closed stream) must not stop the others or the caller.
      }
    }
  }

  subscribe(listener: (event: GatewayEvent, seq: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  recent(): readonly NumberedEvent[] {
    return this.#history;
  }
}
