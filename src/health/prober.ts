import http from 'node:http';
import https from 'node:https';
import type { HealthSettings } from '../config/types.ts';
import { systemClock, type Clock } from '../util/clock.ts';
import { timeoutVerdict } from './probe-timeout.ts';

export interface ProbeTarget {
  readonly url: URL;
  /** The pool's keep-alive agent: probes keep a standby's connection warm for a fast takeover. */
  readonly agent: http.Agent;
}

/** `startedAt` (the prober's clock): when the probe went out; set by the Prober. */
export type ProbeResult = { ok: boolean; detail: string; startedAt?: number };

/**
 * One heartbeat: GET the health path, pass when the status is expected, within the timeout, on
 * `clock` (a timeout that fired late because this process stalled is extended: see
 * probe-timeout.ts).
 */
export function probeOnce(
  target: ProbeTarget,
  settings: HealthSettings,
  clock: Clock = systemClock(),
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      cancelTimeout();
      resolve(result);
    };
    const client = target.url.protocol === 'https:' ? https : http;
    const req = client.request({
      protocol: target.url.protocol,
      hostname: target.url.hostname.replace(/^\[|\]$/g, ''),
      port: target.url.port || undefined,
      path: settings.path,
      method: 'GET',
      agent: target.agent,
      headers: { 'user-agent': 'baton-heartbeat', accept: '*/*' },
    });
    let extensions = 0;
    let dueAt = clock.now() + settings.timeoutMs;
    const onTimeout = () => {
      if (timeoutVerdict({ dueAt, firedAt: clock.now(), timeoutMs: settings.timeoutMs, extensions }) === 'extend') {
        extensions += 1;
        dueAt = clock.now() + settings.timeoutMs;
        cancelTimeout = clock.schedule(settings.timeoutMs, onTimeout);
        return;
      }
      finish({ ok: false, detail: `timeout after ${settings.timeoutMs}ms` });
      req.destroy();
    };
    let cancelTimeout = clock.schedule(settings.timeoutMs, onTimeout);
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      res.on('error', () => finish({ ok: false, detail: 'response aborted' }));
      res.on('end', () =>
        finish({ ok: settings.expect.some((r) => status >= r.min && status <= r.max), detail: `status ${status}` }),
      );
      res.resume();
    });
    req.on('error', (error: NodeJS.ErrnoException) => finish({ ok: false, detail: error.code ?? error.message }));
    req.end();
  });
}

/**
 * Heartbeats for one node: a probe every interval (the first one after a random share of it,
 * so that probes of many nodes and instances do not align), and one at once on request when
 * traffic or another instance suspects the node.
 */
export class Prober {
  #running = false;
  #inFlight = false;
  #again = false;
  #cancel: (() => void) | undefined;
  #settings: HealthSettings;
  readonly #target: ProbeTarget;
  readonly #clock: Clock;
  readonly #onResult: (result: ProbeResult) => void;

  constructor(target: ProbeTarget, settings: HealthSettings, clock: Clock, onResult: (result: ProbeResult) => void) {
    this.#target = target;
    this.#settings = settings;
    this.#clock = clock;
    this.#onResult = onResult;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(Math.random() * this.#settings.intervalMs);
  }

  stop(): void {
    this.#running = false;
    this.#cancel?.();
    this.#cancel = undefined;
  }

  updateSettings(settings: HealthSettings): void {
    this.#settings = settings;
  }

  /** Probe now (or right after the probe in flight) instead of waiting for the interval. */
  probeNow(): void {
    if (!this.#running) return;
    if (this.#inFlight) {
      this.#again = true;
      return;
    }
    this.#cancel?.();
    void this.#run();
  }

  #schedule(delay: number): void {
    this.#cancel?.();
    this.#cancel = this.#clock.schedule(delay, () => void this.#run());
  }

  async #run(): Promise<void> {
    this.#cancel = undefined;
    this.#inFlight = true;
    const started = this.#clock.now();
    const result = await probeOnce(this.#target, this.#settings, this.#clock);
    this.#inFlight = false;
    if (!this.#running) return;
    this.#onResult({ ...result, startedAt: started });
    if (this.#again) {
      this.#again = false;
      this.#schedule(0);
      return;
    }
    // Fixed rate: a probe that hung until its timeout does not push the next one back.
    this.#schedule(Math.max(0, this.#settings.intervalMs - (this.#clock.now() - started)));
  }
}
