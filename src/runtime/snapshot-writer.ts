import type { ActorSnapshot, SnapshotKey, SnapshotStore } from "../ports/snapshot-store.js";
import type { SnapshotOut } from "./shard-types.js";

/**
 * Main-thread side of persistence. Shards hand it snapshots; it writes a snapshot only once every
 * journal message the snapshot contains is committed (rows durable, acked): otherwise a crash
 * could restore a state whose effects never reached the sink, and the redelivered messages would
 * be skipped as duplicates. Until written, snapshots are served from memory to activations.
 *
 * It also keeps the replay floor per partition (the lowest journal seq whose effect may not be in
 * a durable snapshot) and persists it as the partition checkpoint after each successful write.
 */
export class SnapshotWriter {
  private readonly pending = new Map<string, SnapshotOut>();
  private readonly committedHigh = new Map<number, number>();
  private readonly reported = new Map<number, number>();
  private readonly durable = new Map<number, number>();
  private flushing: Promise<void> | null = null;
  private failures = 0;

  constructor(private readonly store: SnapshotStore) {}

  /** Snapshots waiting for commit or for the store. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Failed store writes so far (retried on the next flush). */
  get writeFailures(): number {
    return this.failures;
  }

  /** Accept snapshots from a shard (newer replaces older; the replay floor it lifts is kept). */
  add(snaps: readonly SnapshotOut[]): void {
    for (const s of snaps) {
      const k = key(s.actorType, s.actorId);
      const prev = this.pending.get(k);
      if (prev !== undefined && prev.coversFrom > 0 && (s.coversFrom === 0 || prev.coversFrom < s.coversFrom)) {
        this.pending.set(k, { ...s, coversFrom: prev.coversFrom });
      } else {
        this.pending.set(k, s);
      }
    }
  }

  /** A shard's replay floors (sent together with, and after, its snapshots). */
  reportLowWater(entries: readonly (readonly [number, number])[]): void {
    for (const [p, seq] of entries) this.reported.set(p, seq);
  }

  /** Journal messages of `partition` through `streamSeq` are committed. */
  committed(partition: number, streamSeq: number): void {
    if (streamSeq > (this.committedHigh.get(partition) ?? 0)) this.committedHigh.set(partition, streamSeq);
  }

  /** Seed the durable checkpoint of a partition (read from the store at recovery). */
  seedCheckpoint(partition: number, streamSeq: number): void {
    this.durable.set(partition, streamSeq);
    if (!this.reported.has(partition)) this.reported.set(partition, streamSeq);
  }

  /**
   * Where to replay `partition` from after losing a shard's memory: the shard's last reported
   * floor (stale reports are safe: later dirt has higher seqs), else the durable checkpoint, else 1.
   * Pending snapshots are not counted: they survive in this writer and are served to activations.
   */
  replayFrom(partition: number): number {
    return this.reported.get(partition) ?? this.durable.get(partition) ?? 1;
  }

  /** Highest committed stream seq of `partition` (0 = none). */
  committedThrough(partition: number): number {
    return this.committedHigh.get(partition) ?? 0;
  }

  /**
   * Discard pending snapshots of `partition` that contain uncommitted messages (their shard state
   * is being dropped); returns where to replay the partition from afterwards.
   */
  dropUncommitted(partition: number): number {
    let from = this.replayFrom(partition);
    const high = this.committedThrough(partition);
    for (const [k, s] of this.pending) {
      if (s.partition !== partition || s.snapshot.streamSeq <= high) continue;
      this.pending.delete(k);
      if (s.coversFrom > 0 && s.coversFrom < from) from = s.coversFrom;
    }
    this.reported.set(partition, from);
    return from;
  }

  /**
   * Forget a handed-off partition (after its snapshots and checkpoint were flushed): no later flush
   * writes its checkpoint again, and a later re-acquire starts from the store's checkpoint.
   */
  forget(partition: number): void {
    for (const [k, s] of this.pending) if (s.partition === partition) this.pending.delete(k);
    this.committedHigh.delete(partition);
    this.reported.delete(partition);
    this.durable.delete(partition);
  }

  /** Load snapshots for activation: pending ones first, then the store. */
  async load(keys: readonly SnapshotKey[]): Promise<(ActorSnapshot | undefined)[]> {
    const out = new Array<ActorSnapshot | undefined>(keys.length);
    const miss: SnapshotKey[] = [];
    const missIdx: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const p = this.pending.get(key(keys[i]!.actorType, keys[i]!.actorId));
      if (p !== undefined) out[i] = p.snapshot;
      else {
        miss.push(keys[i]!);
        missIdx.push(i);
      }
    }
    if (miss.length > 0) {
      const got = await this.store.getMany(miss);
      for (let j = 0; j < miss.length; j++) {
        const i = missIdx[j]!;
        // A snapshot added while we awaited the store is newer.
        const p = this.pending.get(key(keys[i]!.actorType, keys[i]!.actorId));
        out[i] = p !== undefined ? p.snapshot : got[j];
      }
    }
    return out;
  }

  /** Write committed snapshots, then advance checkpoints. One flush at a time; never rejects. */
  flush(): Promise<void> {
    if (this.flushing !== null) return this.flushing.then(() => this.flush());
    this.flushing = this.doFlush().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    const batch: SnapshotOut[] = [];
    for (const s of this.pending.values()) {
      if (s.snapshot.streamSeq <= (this.committedHigh.get(s.partition) ?? 0)) batch.push(s);
    }
    try {
      for (let i = 0; i < batch.length; i += 512) {
        const chunk = batch.slice(i, i + 512);
        await this.store.putMany(chunk.map((s) => ({ actorType: s.actorType, actorId: s.actorId, snapshot: s.snapshot })));
        for (const s of chunk) {
          const k = key(s.actorType, s.actorId);
          if (this.pending.get(k) === s) this.pending.delete(k);
        }
      }
      await this.writeCheckpoints();
    } catch {
      this.failures++;
    }
  }

  private async writeCheckpoints(): Promise<void> {
    const floor = new Map(this.reported);
    for (const s of this.pending.values()) {
      if (s.coversFrom > 0 && s.coversFrom < (floor.get(s.partition) ?? Infinity)) floor.set(s.partition, s.coversFrom);
    }
    for (const [p, seq] of floor) {
      if (this.durable.get(p) === seq) continue;
      await this.store.putCheckpoint(p, seq);
      this.durable.set(p, seq);
    }
  }
}

function key(type: string, id: string): string {
  return `${type}\u0000${id}`;
}
