import type { Clock, TimerHandle } from "../ports/clock.js";
import type { PartitionTimer } from "../ports/actor-host.js";
import type { ActorCell } from "./actor-cell.js";
import { TimerHeap, type TimerRec } from "./timer-heap.js";

/** What the shard does with a due timer: false = no room now (it is retried `retryMs` later). */
export type FireTimer = (rec: TimerRec) => boolean;

/**
 * The shard's actor timers: one heap on the Clock with a single armed clock timeout (lazy
 * re-arm: re-arming a heartbeat later is a field write), and the timers of passivated actors
 * (dormant, handed back on re-activation).
 */
export class ShardTimers {
  private readonly heap = new TimerHeap();
  /**
   * Parked timers by partition, then actor type and id: a partition's timers are read (checkpoint,
   * handoff) and dropped without visiting the other partitions' — with 64 partitions and a million
   * parked devices, a scan of every parked timer per partition cost 64 × 1 M hashes per round.
   */
  private readonly dormant = new Map<number, Map<string, Map<string, TimerRec | TimerRec[]>>>();
  private readonly fired: TimerRec[] = [];
  private clockHandle: TimerHandle | null = null;
  private clockDue = Infinity;
  private closed = false;

  /**
   * @param fire delivers a due timer's message (see {@link FireTimer}).
   * @param afterFire runs once a clock tick's due timers were handed to `fire`.
   * @param retryMs delay before a timer `fire` had no room for is tried again, ms.
   */
  constructor(
    private readonly clock: Clock,
    private readonly fire: FireTimer,
    private readonly afterFire: () => void,
    private readonly retryMs: number,
  ) {}

  /** Set (delay ≥ 0, ms, from `now`) or cancel (delay < 0) the timer `name` of `cell`. */
  apply(cell: ActorCell, name: string, delay: number, msg: unknown, now = this.clock.now()): void {
    let rec: TimerRec | undefined;
    const held = cell.timers;
    if (held !== null) {
      if (!Array.isArray(held)) {
        if (held.name === name) rec = held;
      } else {
        for (let i = 0; i < held.length; i++) if (held[i]!.name === name) rec = held[i];
      }
    }
    if (delay < 0) {
      if (rec !== undefined) rec.due = -1;
      return;
    }
    if (rec === undefined) {
      rec = { actorType: cell.logic.type, actorId: cell.id, name, msg, due: -1, heapDue: 0, heapIdx: -1 };
      if (held === null) cell.timers = rec;
      else if (Array.isArray(held)) held.push(rec);
      else cell.timers = [held, rec];
    }
    rec.msg = msg;
    rec.due = now + delay;
    this.heap.schedule(rec);
    if (rec.heapDue < this.clockDue) this.armClock();
  }

  /** Keep the pending timers of a passivated actor until it is activated again. */
  park(c: ActorCell): void {
    if (c.timers !== null && timerList(c.timers).some((t) => t.due >= 0)) this.parked(c.partition, c.logic.type).set(c.id, c.timers);
  }

  /** The parked timers of an actor of `partition` being activated (removed from the dormant map), or undefined. */
  unpark(partition: number, type: string, id: string): TimerRec | TimerRec[] | undefined {
    const dm = this.dormant.get(partition)?.get(type);
    const timers = dm?.get(id);
    if (timers !== undefined) dm!.delete(id);
    return timers;
  }

  /** Pending timers of `partition` (active actors' and parked ones), time left from `now`. */
  pendingOf(partition: number, cells: Map<string, Map<string, ActorCell>>, now: number): PartitionTimer[] {
    const out: PartitionTimer[] = [];
    const add = (t: TimerRec) => {
      if (t.due >= 0) out.push({ actorType: t.actorType, actorId: t.actorId, name: t.name, inMs: Math.max(0, t.due - now), msg: t.msg });
    };
    for (const m of cells.values()) for (const c of m.values()) if (c.partition === partition && c.timers !== null) timerList(c.timers).forEach(add);
    const byType = this.dormant.get(partition);
    if (byType !== undefined) for (const dm of byType.values()) for (const timers of dm.values()) timerList(timers).forEach(add);
    return out;
  }

  /**
   * Arm timers of `partition` handed over by its previous owner: on the active actor (unless it
   * has that timer armed already: it was re-armed since, by a replayed turn) or parked until the
   * timer activates it.
   */
  restore(partition: number, timers: readonly PartitionTimer[], cells: Map<string, Map<string, ActorCell>>, now: number): void {
    for (const t of timers) {
      const cell = cells.get(t.actorType)?.get(t.actorId);
      if (cell !== undefined) {
        if (cell.timers === null || !timerList(cell.timers).some((r) => r.name === t.name && r.due >= 0)) this.apply(cell, t.name, t.inMs, t.msg, now);
        continue;
      }
      const dm = this.parked(partition, t.actorType);
      const parked = dm.get(t.actorId);
      const list = parked === undefined ? [] : Array.isArray(parked) ? parked : [parked];
      if (list.some((r) => r.name === t.name && r.due >= 0)) continue;
      const rec: TimerRec = { actorType: t.actorType, actorId: t.actorId, name: t.name, msg: t.msg, due: now + t.inMs, heapDue: 0, heapIdx: -1 };
      list.push(rec);
      dm.set(t.actorId, list.length === 1 ? rec : list);
      this.heap.schedule(rec);
      if (rec.heapDue < this.clockDue) this.armClock();
    }
  }

  /** Cancel and forget the parked timers of every passivated actor of `partition`. */
  dropPartition(partition: number): void {
    const byType = this.dormant.get(partition);
    if (byType === undefined) return;
    for (const dm of byType.values()) for (const timers of dm.values()) for (const t of timerList(timers)) t.due = -1;
    this.dormant.delete(partition);
  }

  /** The parked timers of `partition`'s actors of `type` (created empty). */
  private parked(partition: number, type: string): Map<string, TimerRec | TimerRec[]> {
    let byType = this.dormant.get(partition);
    if (byType === undefined) this.dormant.set(partition, (byType = new Map()));
    let dm = byType.get(type);
    if (dm === undefined) byType.set(type, (dm = new Map()));
    return dm;
  }

  /** Clear the clock timeout; nothing is armed after this. */
  close(): void {
    this.closed = true;
    if (this.clockHandle !== null) this.clock.clearTimeout(this.clockHandle);
    this.clockHandle = null;
  }

  private armClock(): void {
    const due = this.heap.peekDue();
    if (due === this.clockDue || this.closed) return;
    if (this.clockHandle !== null) this.clock.clearTimeout(this.clockHandle);
    this.clockHandle = null;
    this.clockDue = due;
    if (due === Infinity) return;
    this.clockHandle = this.clock.setTimeout(() => this.onClock(), Math.max(0, due - this.clock.now()));
  }

  private onClock(): void {
    this.clockHandle = null;
    this.clockDue = Infinity;
    const now = this.clock.now();
    this.heap.popDue(now, this.fired);
    for (const rec of this.fired) {
      if (this.fire(rec)) continue;
      rec.due = now + this.retryMs;
      this.heap.schedule(rec);
    }
    this.fired.length = 0;
    this.armClock();
    this.afterFire();
  }
}

/** A cell's timers as a list. */
function timerList(t: TimerRec | TimerRec[]): readonly TimerRec[] {
  return Array.isArray(t) ? t : [t];
}
