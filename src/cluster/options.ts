/** Options of a node's lease manager (all durations in ms). */
export interface LeaseOptions {
  /** This node's id (unique in the cluster). */
  readonly nodeId: string;
  /** Partition count P (`nats.partitions`: 16 by default, 64 in the k8s overlay). */
  readonly partitions: number;
  /** Consul session TTL. Default 10 s (Consul's minimum): a killed node's partitions move after TTL..2×TTL. */
  readonly sessionTtlMs: number;
  /** Consul lock delay after a session is invalidated. Default 1 s (Consul's own default, 15 s, would stall failover). */
  readonly lockDelayMs: number;
  /** Most partitions in motion (free or being handed off) at a time. Default 8. */
  readonly maxMoves: number;
  /** Longest wait of the blocking query on the cluster tree; also the retry period. Default 2 s. */
  readonly pollMs: number;
  /** How often the lag of owned partitions is read. Default 2 s. */
  readonly lagPollMs: number;
  /** A partition is caught up while at most this many messages wait undelivered. Default 1000. */
  readonly readyLag: number;
  /** On leave (SIGTERM), how long the bounded handoff may take before the rest is released at once. Default 25 s. */
  readonly leaveTimeoutMs: number;
}

/** Defaults of {@link LeaseOptions} (except nodeId and partitions). */
export const LEASE_DEFAULTS = {
  sessionTtlMs: 10_000,
  lockDelayMs: 1_000,
  maxMoves: 8,
  pollMs: 2_000,
  lagPollMs: 2_000,
  readyLag: 1_000,
  leaveTimeoutMs: 25_000,
} as const;

/** Fills in defaults and checks ranges; throws RangeError naming the option and the rule. */
export function leaseOptions(o: Pick<LeaseOptions, "nodeId" | "partitions"> & Partial<LeaseOptions>): LeaseOptions {
  const r: LeaseOptions = { ...LEASE_DEFAULTS, ...o };
  const check = (name: keyof LeaseOptions, ok: boolean, rule: string) => {
    if (!ok) throw new RangeError(`cluster option ${name} ${rule}, got ${String(r[name])}`);
  };
  check("nodeId", /^[A-Za-z0-9_.-]+$/.test(r.nodeId), "must be letters, digits, _, . and -");
  check("partitions", Number.isInteger(r.partitions) && r.partitions >= 1, "must be an integer >= 1");
  check("sessionTtlMs", r.sessionTtlMs >= 10_000 && r.sessionTtlMs <= 86_400_000, "must be in [10000, 86400000] (Consul's session TTL range)");
  check("lockDelayMs", r.lockDelayMs >= 0 && r.lockDelayMs <= 60_000, "must be in [0, 60000]");
  check("maxMoves", Number.isInteger(r.maxMoves) && r.maxMoves >= 1, "must be an integer >= 1");
  check("pollMs", r.pollMs >= 1000, "must be >= 1000 (Consul waits in whole seconds)");
  check("lagPollMs", r.lagPollMs >= 100, "must be >= 100");
  check("readyLag", r.readyLag >= 0, "must be >= 0");
  check("leaveTimeoutMs", r.leaveTimeoutMs >= 0, "must be >= 0");
  return r;
}
