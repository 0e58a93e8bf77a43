import { agedTimers, type PartitionTimer } from "../../ports/actor-host.js";
import type { ActorSnapshot, SnapshotEntry, SnapshotKey, SnapshotStore } from "../../ports/snapshot-store.js";

/** In-memory SnapshotStore for unit tests and in-memory benchmarks (copies bytes like a real store). */
export class MemorySnapshotStore implements SnapshotStore {
  readonly snapshots = new Map<string, ActorSnapshot>();
  readonly checkpoints = new Map<number, number>();
  puts = 0;
  gets = 0;
  /** When set, every call rejects with this error (simulates an unavailable store). */
  failWith: Error | null = null;

  async getMany(keys: readonly SnapshotKey[]): Promise<(ActorSnapshot | undefined)[]> {
    if (this.failWith) throw this.failWith;
    this.gets += keys.length;
    return keys.map((k) => this.snapshots.get(`${k.actorType}/${k.actorId}`));
  }

  async putMany(entries: readonly SnapshotEntry[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    for (const e of entries) {
      this.puts++;
      this.snapshots.set(`${e.actorType}/${e.actorId}`, { ...e.snapshot, state: e.snapshot.state.slice() });
    }
  }

  async getCheckpoint(partition: number): Promise<number | undefined> {
    if (this.failWith) throw this.failWith;
    return this.checkpoints.get(partition);
  }

  async putCheckpoint(partition: number, streamSeq: number): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.checkpoints.set(partition, streamSeq);
  }

  readonly timers = new Map<number, { timers: PartitionTimer[]; savedAtMs: number | undefined }>();

  async putTimers(partition: number, timers: readonly PartitionTimer[], savedAtMs?: number): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.timers.set(partition, { timers: [...timers], savedAtMs });
  }

  async readTimers(partition: number, nowMs?: number): Promise<PartitionTimer[]> {
    if (this.failWith) throw this.failWith;
    const kept = this.timers.get(partition);
    return kept === undefined ? [] : agedTimers(kept.timers, kept.savedAtMs, nowMs);
  }

  async close(): Promise<void> {}
}
