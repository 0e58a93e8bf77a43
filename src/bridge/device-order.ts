import type { Clock, TimerHandle } from "../ports/clock.js";
import type { Reading } from "../ports/reading.js";

/** Options of the per-device order stage. */
export interface DeviceOrderOptions {
  /** Longest a reading waits for the ones before it, ms. 0: the stage passes everything through. */
  readonly holdMs: number;
  /** Devices whose last seq is remembered (least recently seen forgotten first). */
  readonly maxDevices: number;
  /** Most readings held at once (beyond: the oldest holds are released early). */
  readonly maxHeld: number;
  readonly clock: Clock;
}

/** Counters of the stage. */
export interface DeviceOrderStats {
  /** Readings that waited for an earlier one. */
  held: number;
  /** Held readings released because the wait ran out (the earlier reading never came in time). */
  timedOut: number;
}

interface Hold {
  readonly readings: Reading[];
  readonly tokens: unknown[];
  readonly since: number;
}

/** What the stage remembers of a device: the seq and timestamp of the last reading it passed on. */
interface Last {
  seq: number;
  ts: number;
}

/**
 * Puts each device's readings back in the order the device measured them, before they are
 * journaled (docs/adr/0011-sequence-model.md). The bridge's MQTT connections share one
 * subscription, so the broker hands a device's consecutive publishes to different connections and
 * they arrive out of order. Per device the stage remembers the last reading it passed on. A reading
 * that continues from it (the next seq; seq 0 or 1 after a wrapping counter's top; the same reading
 * again) passes at once, and so does one older than it (too late to reorder: the actors
 * place it). One that skips ahead waits, sorted by time, until the readings before it arrive or
 * `holdMs` ran out; so does the first reading of a device not seen since the bridge started,
 * unless its seq is 0 or 1. Readings without seq (0, from a device that never sent another) pass
 * at once. In-order traffic never waits. The journal is what
 * actors replay, so the order is fixed here, before it.
 */
export class DeviceOrder<T> {
  readonly stats: DeviceOrderStats = { held: 0, timedOut: 0 };
  private readonly last = new Map<string, Last>();
  private readonly holds = new Map<string, Hold>();
  private heldCount = 0;
  private timer: TimerHandle | null = null;

  constructor(
    private readonly o: DeviceOrderOptions,
    private readonly emit: (r: Reading, token: T) => void,
  ) {}

  /** Readings waiting now. */
  get held(): number {
    return this.heldCount;
  }

  /** Take one reading (with what travels with it); `emit` gets it now or later, in device order. */
  offer(r: Reading, token: T): void {
    if (this.o.holdMs <= 0) return this.emit(r, token);
    const id = r.deviceId;
    const l = this.last.get(id);
    const hold = this.holds.get(id);
    // seq 0: no counter, unless the device counts (a wrapping counter passes 0).
    if (r.seq === 0 && l === undefined && hold === undefined) return this.emit(r, token);
    // A device not seen yet (since this bridge started) waits too, unless at the start of its
    // counter and measured before anything of it that waits.
    if (l === undefined ? r.seq <= 1 && (hold === undefined || r.tsMs <= hold.readings[0]!.tsMs) : r.tsMs < l.ts || continues(l, r)) {
      this.pass(id, r, token, l);
      if (hold !== undefined) this.release(id, false);
      return;
    }
    if (hold === undefined) {
      this.holds.set(id, { readings: [r], tokens: [token], since: this.o.clock.now() });
      this.arm();
    } else {
      insertByTime(hold, r, token);
    }
    this.heldCount++;
    this.stats.held++;
    if (this.heldCount > this.o.maxHeld) this.releaseOldest();
  }

  /** Release everything waiting (closing, draining). */
  flush(): void {
    for (const id of [...this.holds.keys()]) this.release(id, true);
    if (this.timer !== null) this.o.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** Emits `r`; it becomes the device's last reading (`l`, as looked up) unless it is older than that. */
  private pass(id: string, r: Reading, token: T, l: Last | undefined): void {
    if (l === undefined) {
      this.last.set(id, { seq: r.seq, ts: r.tsMs });
      if (this.last.size > this.o.maxDevices) this.last.delete(this.last.keys().next().value!);
    } else if (r.tsMs >= l.ts) {
      l.seq = r.seq;
      l.ts = r.tsMs;
      this.last.delete(id); // re-insert: Map order is the recency order
      this.last.set(id, l);
    }
    this.emit(r, token);
  }

  /** Emits the device's waiting readings in time order while they continue (or all of them). */
  private release(id: string, all: boolean): void {
    const hold = this.holds.get(id)!;
    let i = 0;
    for (; i < hold.readings.length; i++) {
      const r = hold.readings[i]!;
      const l = this.last.get(id);
      if (!all && (l === undefined ? r.seq > 1 : r.tsMs >= l.ts && !continues(l, r))) break;
      this.pass(id, r, hold.tokens[i] as T, l);
    }
    this.heldCount -= i;
    if (i === hold.readings.length) this.holds.delete(id);
    else {
      hold.readings.splice(0, i);
      hold.tokens.splice(0, i);
    }
  }

  private releaseOldest(): void {
    const id = this.holds.keys().next().value;
    if (id === undefined) return;
    this.stats.timedOut += this.holds.get(id)!.readings.length;
    this.release(id, true);
  }

  private arm(): void {
    if (this.timer !== null) return;
    this.timer = this.o.clock.setTimeout(() => this.sweep(), this.o.holdMs);
  }

  /** Releases the holds whose wait ran out; re-arms while some wait. */
  private sweep(): void {
    this.timer = null;
    const now = this.o.clock.now();
    for (const [id, h] of this.holds) {
      if (now - h.since < this.o.holdMs) break; // insertion order: the rest waited less
      this.stats.timedOut += h.readings.length;
      this.release(id, true);
    }
    if (this.holds.size > 0) {
      const first = this.holds.values().next().value!;
      this.timer = this.o.clock.setTimeout(() => this.sweep(), Math.max(1, first.since + this.o.holdMs - now));
    }
  }
}

/**
 * Whether `r` (not older than the device's last reading) comes right after it: the next seq, a
 * wrapping counter at its start again after its top (255, 65535, 2^32 - 1), or the same reading
 * again. A counter that restarts elsewhere (a reboot) waits its holdMs: readings of the old count
 * may still be on their way, and the stage cannot tell a restart from a reading that overtook.
 */
function continues(l: Last, r: Reading): boolean {
  return r.seq === l.seq + 1 || (r.seq <= 1 && COUNTER_TOPS.has(l.seq)) || (r.seq === l.seq && r.tsMs === l.ts);
}

const COUNTER_TOPS = new Set([0xff, 0xffff, 0xffffffff]);

function insertByTime(h: Hold, r: Reading, token: unknown): void {
  let i = h.readings.length;
  while (i > 0 && (h.readings[i - 1]!.tsMs > r.tsMs || (h.readings[i - 1]!.tsMs === r.tsMs && h.readings[i - 1]!.seq > r.seq))) i--;
  h.readings.splice(i, 0, r);
  h.tokens.splice(i, 0, token);
}
