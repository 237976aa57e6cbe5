/**
 * Heartbeats shared by the worker processes of one machine (src/workers/): one worker probes,
 * and its results feed every other worker's local verdicts, so an upstream sees one heartbeat
 * per machine, not one per worker, and every worker still judges the node by the same evidence
 * (plus its own traffic).
 */
export interface HeartbeatResult {
  readonly pool: string;
  readonly node: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface HeartbeatShare {
  /** True: this gateway sends the heartbeats and publishes them; false: it takes the results. */
  readonly probing: boolean;
  publish(result: HeartbeatResult): void;
  /** The probing gateway's results; returns an unsubscribe. */
  subscribe(listener: (result: HeartbeatResult) => void): () => void;
}
