import type { ActorCell, LruList } from "./actor-cell.js";
import type { ShardTimers } from "./shard-timers.js";
import type { ShardCounters, SnapshotOut } from "./shard-types.js";

/**
 * Snapshots and passivation of a shard's actors: the dirty list, snapshots taken and not yet
 * handed to the host, idle and LRU passivation, and the replay floor per partition they imply.
 */
export class ShardPassivation {
  /** Cells that may be dirty (compacted lazily: `inDirtyList` marks membership). */
  readonly dirtyCells: ActorCell[] = [];
  /** Snapshots taken since the host last took them. */
  snaps: SnapshotOut[] = [];

  constructor(
    private readonly cells: Map<string, Map<string, ActorCell>>,
    private readonly lru: LruList,
    private readonly timers: ShardTimers,
    /** Partitions released to another owner (see ShardCore.releasePartition). */
    private readonly handedOff: ReadonlySet<number>,
    private readonly counters: ShardCounters,
  ) {}

  /** Snapshots taken since the last call. */
  take(): SnapshotOut[] {
    const s = this.snaps;
    this.snaps = [];
    return s;
  }

  /** Passivate actors idle since `now - idleMs`; snapshot those dirty since `now - snapshotEveryMs`. */
  sweep(now: number, idleMs: number, snapshotEveryMs: number): void {
    const cutoff = now - idleMs;
    let c = this.lru.tail;
    while (c !== null && c.lastUsed <= cutoff) {
      const prev = c.prev;
      if (idle(c)) this.passivate(c);
      c = prev;
    }
    const snapBefore = now - snapshotEveryMs;
    this.compactDirty();
    for (const d of this.dirtyCells) if (d.dirty && d.ready && d.dirtyAt <= snapBefore) this.snapshot(d);
  }

  /** Passivate least recently used idle actors until at most `maxActive` are active. */
  evict(maxActive: number): void {
    let over = this.lru.size - maxActive;
    let c = this.lru.tail;
    while (over > 0 && c !== null) {
      const prev = c.prev;
      if (idle(c)) {
        this.passivate(c);
        over--;
      }
      c = prev;
    }
  }

  /** Snapshot (if dirty) and forget an actor; its pending timers are parked. */
  passivate(c: ActorCell): void {
    if (c.dirty) this.snapshot(c);
    c.live = false;
    this.lru.remove(c);
    this.cells.get(c.logic.type)!.delete(c.id);
    this.timers.park(c);
    if (c.state !== undefined) c.logic.dispose?.(c.state);
    c.state = undefined;
    this.counters.passivations++;
  }

  /** Take a snapshot of the actor's state (nothing for a handed-off partition). */
  snapshot(c: ActorCell): void {
    if (this.handedOff.size > 0 && this.handedOff.has(c.partition)) {
      // Never write state of a partition another node owns now (see releasePartition).
      c.dirty = false;
      c.dirtyFrom = 0;
      c.sinceSnap = 0;
      return;
    }
    let bytes: Uint8Array;
    try {
      bytes = c.logic.snapshot(c.state);
    } catch {
      this.counters.loadFailures++;
      return;
    }
    this.snaps.push({
      actorType: c.logic.type,
      actorId: c.id,
      partition: c.partition,
      snapshot: { state: bytes, lastDeviceSeq: c.logic.lastSeq?.(c.state) ?? 0, streamSeq: c.streamSeq },
      coversFrom: c.dirtyFrom,
    });
    c.dirty = false;
    c.dirtyFrom = 0;
    c.sinceSnap = 0;
    this.counters.snapshots++;
  }

  /** Snapshot every dirty active actor. */
  snapshotAll(): void {
    this.compactDirty();
    for (const c of this.dirtyCells.splice(0)) {
      c.inDirtyList = false;
      if (c.live && c.dirty && c.ready) this.snapshot(c);
    }
  }

  /** Replay floor per partition given the high-water stream seq per partition (see ShardCore.lowWater). */
  lowWater(partHigh: readonly number[]): [number, number][] {
    const low = new Map<number, number>();
    // A handed-off partition's checkpoint is the new owner's to write.
    partHigh.forEach((high, p) => {
      if (!this.handedOff.has(p)) low.set(p, high + 1);
    });
    this.compactDirty();
    for (const c of this.dirtyCells) {
      if (c.dirtyFrom > 0 && c.dirtyFrom < (low.get(c.partition) ?? Infinity)) low.set(c.partition, c.dirtyFrom);
    }
    return [...low];
  }

  private compactDirty(): void {
    let w = 0;
    const d = this.dirtyCells;
    for (let i = 0; i < d.length; i++) {
      const c = d[i]!;
      if (c.live && c.dirty) d[w++] = c;
      else c.inDirtyList = false;
    }
    d.length = w;
  }
}

function idle(c: ActorCell): boolean {
  return c.ready && c.depth === 0 && !c.backoff && !c.queued;
}
