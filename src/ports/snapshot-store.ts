import type { PartitionTimer } from "./actor-host.js";

/**
 * A persisted actor snapshot: the actor's serialised state plus where in the journal it stands.
 * Recovery = snapshot + replay of the journal from `streamSeq` (idempotent via `lastDeviceSeq`).
 */
export interface ActorSnapshot {
  /** `ActorLogic.snapshot(state)` bytes. */
  readonly state: Uint8Array;
  /** Highest device sequence number applied (the actor's dedup high-water mark); 0 if unknown. */
  readonly lastDeviceSeq: number;
  /** JetStream stream sequence of the last journal message applied to this state; 0 if none. */
  readonly streamSeq: number;
}

/** Key of an actor snapshot. */
export interface SnapshotKey {
  readonly actorType: string;
  readonly actorId: string;
}

/** One snapshot to write. */
export interface SnapshotEntry extends SnapshotKey {
  readonly snapshot: ActorSnapshot;
}

/**
 * Durable store of actor snapshots (a NATS KV bucket in production) and per-partition replay
 * checkpoints. Writes are last-writer-wins per key. Rejections carry a `retryable` flag.
 */
export interface SnapshotStore {
  /** Snapshots of several actors in one round trip, in the order of `keys` (`undefined` = none). */
  getMany(keys: readonly SnapshotKey[]): Promise<(ActorSnapshot | undefined)[]>;
  /** Write several snapshots; resolves once all are durable. */
  putMany(entries: readonly SnapshotEntry[]): Promise<void>;
  /**
   * Replay checkpoint of a partition: the lowest journal stream sequence whose effect on actor
   * state may not be in a durable snapshot yet. Recovery replays the partition from here.
   * `undefined` when the partition never checkpointed (replay from the start of the journal).
   */
  getCheckpoint(partition: number): Promise<number | undefined>;
  /** Store a partition checkpoint (monotonic per partition is the caller's business). */
  putCheckpoint(partition: number, streamSeq: number): Promise<void>;
  /**
   * Optional: keep a partition's pending timers (handed over by RuntimeHost `releasePartition`, or
   * read periodically with `pendingTimers` so they survive a crash), replacing any kept before.
   * `savedAtMs`: wall-clock time their `inMs` were measured at.
   */
  putTimers?(partition: number, timers: readonly PartitionTimer[], savedAtMs?: number): Promise<void>;
  /**
   * Optional: the timers kept for `partition` (none: `[]`). They stay kept until the next
   * `putTimers` of the partition replaces them: an owner that crashes before its first timer
   * checkpoint leaves them for the next one, with no write of its own. With `nowMs` (and a
   * `savedAtMs` stored), each `inMs` is what is left of it now (never below 0: overdue fires at once).
   */
  readTimers?(partition: number, nowMs?: number): Promise<PartitionTimer[]>;
  /** Release connections (does not close a connection the store was given). */
  close(): Promise<void>;
}
