import type { FaultKind } from './faults.ts';

/**
 * Everything a nemesis run observed, with times in ms since the run started (the harness'
 * monotonic clock: a gateway's skewed clock does not move its entries). The checker reads only
 * this, so it can be tested on made-up histories.
 */

export interface FaultRecord {
  readonly n: number;
  readonly kind: FaultKind;
  readonly target: string;
  readonly startedAt: number;
  /** The fault is in place (the process is dead, paused, rolled back …). */
  appliedAt?: number;
  healingAt?: number;
  /** Healed: the process is back and ready. */
  healedAt?: number;
  /** When the target was out of service (dead, paused, restarting, drained); `until` unset while it still is. */
  readonly outages: Array<{ from: number; until?: number }>;
  readonly notes: string[];
}

export interface RequestRecord {
  readonly id: string;
  readonly pool: string;
  readonly method: 'GET' | 'POST';
  /** Gateway index it was sent to. */
  readonly gateway: number;
  readonly sentAt: number;
  endedAt?: number;
  /** HTTP status; 0 for a transport error or a client timeout. */
  status?: number;
  /** The upstream node that answered (from its JSON body), or the gateway's error code. */
  node?: string;
  error?: string;
}

export interface Delivery {
  readonly at: number;
  readonly pool: string;
  readonly node: string;
  readonly method: string;
  readonly id: string;
  /** X-Baton-Epoch as received; null without one. */
  readonly epoch: number | null;
}

/** A gateway's event (its event log on stdout), a warning it logged, or its process starting and exiting. */
export interface InstanceEvent {
  readonly at: number;
  readonly instance: string;
  readonly type: string;
  readonly pool?: string;
  readonly node?: string;
  readonly from?: string;
  readonly to?: string;
  readonly epoch?: number;
  readonly reason: string;
}

export interface OperatorAction {
  readonly at: number;
  endedAt?: number;
  readonly instance: string;
  readonly action: 'failover' | 'failback' | 'drain' | 'enable';
  readonly pool: string;
  readonly node?: string;
  /** The step it belongs to; 0 for the final control check. */
  readonly step: number;
  status?: number;
  body?: string;
}

/** What one instance's /status said about the shared state. */
export interface InstanceView {
  readonly connected: boolean;
  readonly pools: Readonly<
    Record<
      string,
      {
        readonly active: string | null;
        readonly epoch: number | null;
        readonly nodes: Readonly<
          Record<
            string,
            { readonly cluster: string; readonly local: string; readonly draining: boolean; readonly usable: boolean }
          >
        >;
      }
    >
  >;
}

export interface StatusSample {
  readonly at: number;
  /** One entry per gateway, in index order: its view, or why it could not be read. */
  readonly views: ReadonlyArray<InstanceView | { readonly error: string }>;
}

export class History {
  readonly #origin = performance.now();
  readonly faults: FaultRecord[] = [];
  readonly requests: RequestRecord[] = [];
  readonly deliveries: Delivery[] = [];
  readonly events: InstanceEvent[] = [];
  readonly operator: OperatorAction[] = [];
  readonly samples: StatusSample[] = [];
  /** When the machine starved this process (and so every process of the run) of CPU: see stalls.ts. */
  readonly stalls: Array<{ from: number; until: number; lagMs: number }> = [];
  /** The harness failing to do something (a process that would not start): the run proves nothing. */
  readonly harnessErrors: Array<{ at: number; message: string }> = [];
  /** Lines from the harness itself (start-up, phases), for the timeline. */
  readonly notes: Array<{ at: number; text: string }> = [];

  /** Now, in ms since the run started. */
  now(): number {
    return Math.round((performance.now() - this.#origin) * 10) / 10;
  }

  note(text: string): void {
    this.notes.push({ at: this.now(), text });
  }
}
