import { checkInt } from "./errors.js";

/**
 * Runtime tuning shared by the in-thread and worker-pool hosts. The config section `runtime`
 * (src/config) maps onto these; every field has a default.
 */
export interface RuntimeOptions {
  /** Journal partitions P (partition = fnv1a32(id) % P). Default 64. */
  readonly partitions?: number;
  /** Max messages queued per actor; a full mailbox blocks admission (never drops). Default 1024. */
  readonly mailboxCapacity?: number;
  /** Max messages held per worker across all mailboxes (the pull credit). Default 65536. */
  readonly queueCapacity?: number;
  /** LRU cap on active actors per worker (runtime adjustable). Default 2,000,000. */
  readonly maxActiveActors?: number;
  /** Idle time before passivation, ms (runtime adjustable). Default 600,000. */
  readonly passivateAfterMs?: number;
  /** Snapshot an actor after this many applied messages. Default 1000. */
  readonly snapshotEveryMessages?: number;
  /** Snapshot an actor dirty for this long, ms. Default 30,000. */
  readonly snapshotEveryMs?: number;
  /** Attempts of a failing message before it is dead-lettered (K). Default 5. */
  readonly maxAttempts?: number;
  /** Supervision backoff: base, doubled per failure, ms. Default 10. */
  readonly backoffBaseMs?: number;
  /** Supervision backoff cap, ms. Default 5000. */
  readonly backoffMaxMs?: number;
  /** Messages one actor runs before yielding to the next (fairness). Default 8. */
  readonly turnsPerSlice?: number;
  /** Messages a scheduler pass runs before yielding to the event loop. Default 8192. */
  readonly sliceBudget?: number;
  /** How often committed snapshots are written to the store, ms. Default 250. */
  readonly snapshotFlushMs?: number;
  /** Record traced turns as spans (messages carrying `trace`; docs/adr/0023-tracing.md). Default false. */
  readonly traceTurns?: boolean;
  /** Also trace turns that ask for it (`ctx.keepTrace()`, e.g. an anomaly) without a sampled trace. Default false. */
  readonly traceKeptTurns?: boolean;
}

export type ResolvedRuntimeOptions = Required<RuntimeOptions>;

/** Fill defaults and validate (exact messages naming the field). */
export function resolveRuntimeOptions(o: RuntimeOptions): ResolvedRuntimeOptions {
  const r: ResolvedRuntimeOptions = {
    partitions: o.partitions ?? 64,
    mailboxCapacity: o.mailboxCapacity ?? 1024,
    queueCapacity: o.queueCapacity ?? 65_536,
    maxActiveActors: o.maxActiveActors ?? 2_000_000,
    passivateAfterMs: o.passivateAfterMs ?? 600_000,
    snapshotEveryMessages: o.snapshotEveryMessages ?? 1000,
    snapshotEveryMs: o.snapshotEveryMs ?? 30_000,
    maxAttempts: o.maxAttempts ?? 5,
    backoffBaseMs: o.backoffBaseMs ?? 10,
    backoffMaxMs: o.backoffMaxMs ?? 5000,
    turnsPerSlice: o.turnsPerSlice ?? 8,
    sliceBudget: o.sliceBudget ?? 8192,
    snapshotFlushMs: o.snapshotFlushMs ?? 250,
    traceTurns: o.traceTurns ?? false,
    traceKeptTurns: o.traceKeptTurns ?? false,
  };
  checkInt("runtime.partitions", r.partitions, 1);
  checkInt("runtime.mailboxCapacity", r.mailboxCapacity, 1);
  checkInt("runtime.queueCapacity", r.queueCapacity, 1);
  checkInt("runtime.maxActiveActors", r.maxActiveActors, 1);
  checkInt("runtime.passivateAfterMs", r.passivateAfterMs, 1);
  checkInt("runtime.snapshotEveryMessages", r.snapshotEveryMessages, 1);
  checkInt("runtime.snapshotEveryMs", r.snapshotEveryMs, 1);
  checkInt("runtime.maxAttempts", r.maxAttempts, 1);
  checkInt("runtime.backoffBaseMs", r.backoffBaseMs, 0);
  checkInt("runtime.backoffMaxMs", r.backoffMaxMs, r.backoffBaseMs);
  checkInt("runtime.turnsPerSlice", r.turnsPerSlice, 1);
  checkInt("runtime.sliceBudget", r.sliceBudget, 1);
  checkInt("runtime.snapshotFlushMs", r.snapshotFlushMs, 1);
  return r;
}
