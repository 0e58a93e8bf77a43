import type { Clock, TimerHandle } from "../ports/clock.js";
import type { Reading } from "../ports/reading.js";
import { AdaptiveHold } from "./adaptive-hold.js";

/** Options of the per-device order stage. */
export interface DeviceOrderOptions {
  /**
   * Longest a reading waits for the ones before it, ms, while no reading came late lately. 0: the
   * stage passes everything through.
   */
  readonly holdMs: number;
  /**
   * The wait grows up to this when readings come after their successor gave up waiting
   * ({@link AdaptiveHold}), ms. Default (or ≤ holdMs): the wait stays holdMs.
   */
  readonly maxHoldMs?: number;
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
  /**
   * Readings that came after a later-measured one of their device had gone on because its wait ran
   * out: they reach the device actor out of time order. Each makes the wait longer (up to maxHoldMs).
   */
  late: number;
}

/** A device's waiting readings, sorted by time, each with when it arrived. */
interface Hold {
  readonly readings: Reading[];
  readonly tokens: unknown[];
  readonly arrived: number[];
}

/**
 * What the stage remembers of a device: the seq and timestamp of the last reading it passed on;
 * after a wait ran out, the time span it skipped (`gapFrom`, `gapTo` exclusive) and when the
 * reading that went on anyway had arrived (`gapArrived`; -1: no gap).
 */
interface Last {
  seq: number;
  ts: number;
  gapFrom: number;
  gapTo: number;
  gapArrived: number;
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
 * unless its seq is 0 or 1. A device without a counter (seq 0) cannot tell a gap: each of its
 * readings waits `holdMs`, sorted by time (the first one of a device passes at once). When a
 * reading's wait runs out it goes, with every waiting reading measured before it, and nothing
 * measured after it: each reading waits its own `holdMs` (between holdMs and 1.25 × holdMs),
 * however long its device's readings keep coming. In-order traffic with a counter never waits. The
 * journal is what actors replay, so the order is fixed here, before it.
 */
export class DeviceOrder<T> {
  readonly stats: DeviceOrderStats = { held: 0, timedOut: 0, late: 0 };
  private readonly last = new Map<string, Last>();
  private readonly holds = new Map<string, Hold>();
  private heldCount = 0;
  /** The device `last` holds as its most recent (a device's batch passes reading after reading). */
  private newest: string | undefined;
  private timer: TimerHandle | null = null;
  private readonly hold: AdaptiveHold;

  constructor(
    private readonly o: DeviceOrderOptions,
    private readonly emit: (r: Reading, token: T) => void,
  ) {
    this.hold = new AdaptiveHold({ minMs: o.holdMs, maxMs: Math.max(o.holdMs, o.maxHoldMs ?? o.holdMs) });
  }

  /**
   * How long a reading that arrived ahead of an earlier one waits now, ms. While the stage holds
   * more than half of `maxHeld`, the base wait: a longer one would cap the throughput of devices
   * without a counter (every reading of theirs waits) at `maxHeld / wait` and make the stage
   * release early, which makes more readings late.
   */
  get holdMs(): number {
    const grown = this.hold.ms(this.o.clock.now());
    return this.heldCount > this.o.maxHeld / 2 ? this.o.holdMs : grown;
  }

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
    // The first reading of a device without a counter (seq 0) goes at once; it becomes the device's
    // last, so the next ones wait their holdMs (a counting device's 1 continues from its 0).
    if (r.seq === 0 && l === undefined && hold === undefined) return this.pass(id, r, token, l);
    // A device not seen yet (since this bridge started) waits too, unless at the start of its
    // counter and measured before anything of it that waits.
    if (l === undefined ? r.seq <= 1 && (hold === undefined || r.tsMs <= hold.readings[0]!.tsMs) : r.tsMs < l.ts || continues(l, r)) {
      if (l !== undefined && r.tsMs > l.gapFrom && r.tsMs < l.gapTo && l.gapArrived >= 0) this.cameLate(l);
      this.pass(id, r, token, l);
      if (hold !== undefined) this.release(id, false);
      return;
    }
    const now = this.o.clock.now();
    if (hold === undefined) {
      this.holds.set(id, { readings: [r], tokens: [token], arrived: [now] });
      this.arm();
    } else {
      insertByTime(hold, r, token, now);
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

  /** A reading of the gap `l` remembers came: it is scored out of time order; the wait grows. */
  private cameLate(l: Last): void {
    this.stats.late++;
    const now = this.o.clock.now();
    this.hold.observe(now - l.gapArrived, now);
  }

  /** Emits `r`; it becomes the device's last reading (`l`, as looked up) unless it is older than that. */
  private pass(id: string, r: Reading, token: T, l: Last | undefined): void {
    if (l === undefined) {
      this.last.set(id, { seq: r.seq, ts: r.tsMs, gapFrom: 0, gapTo: 0, gapArrived: -1 });
      if (this.last.size > this.o.maxDevices) this.last.delete(this.last.keys().next().value!);
      this.newest = id;
    } else if (r.tsMs >= l.ts) {
      l.seq = r.seq;
      l.ts = r.tsMs;
      if (id !== this.newest) {
        this.last.delete(id); // re-insert: Map order is the recency order
        this.last.set(id, l);
        this.newest = id;
      }
    }
    this.emit(r, token);
  }

  /**
   * Emits the device's waiting readings in time order while they continue, or all of them, or (with
   * `upTo`) the first `upTo` of them whatever they continue from.
   */
  private release(id: string, all: boolean, upTo = 0): void {
    const hold = this.holds.get(id)!;
    let i = 0;
    for (; i < hold.readings.length; i++) {
      const r = hold.readings[i]!;
      const l = this.last.get(id);
      const skips = l === undefined ? r.seq > 1 : r.tsMs >= l.ts && !continues(l, r);
      if (!all && i >= upTo && skips) break;
      if (skips && l !== undefined && r.tsMs > l.ts) {
        // Going on without what came between: remember the span, to see it if it comes late.
        l.gapFrom = l.ts;
        l.gapTo = r.tsMs;
        l.gapArrived = hold.arrived[i]!;
      }
      this.pass(id, r, hold.tokens[i] as T, l);
    }
    this.heldCount -= i;
    if (i === hold.readings.length) this.holds.delete(id);
    else {
      hold.readings.splice(0, i);
      hold.tokens.splice(0, i);
      hold.arrived.splice(0, i);
    }
  }

  private releaseOldest(): void {
    const id = this.holds.keys().next().value;
    if (id === undefined) return;
    this.stats.timedOut += this.holds.get(id)!.readings.length;
    this.release(id, true);
  }

  /** Sweeps every quarter of `holdMs` while readings wait. */
  private arm(): void {
    if (this.timer !== null) return;
    this.timer = this.o.clock.setTimeout(() => this.sweep(), Math.max(1, Math.floor(this.holdMs / 4)));
  }

  /**
   * Per device, the waiting readings up to the last (in time order) whose wait ran out go now, the
   * ones before it included; then whatever continues from them. Re-arms while some wait.
   */
  private sweep(): void {
    this.timer = null;
    const due = this.o.clock.now() - this.holdMs;
    for (const [id, h] of [...this.holds]) {
      let upTo = 0;
      for (let i = h.arrived.length - 1; i >= 0; i--) {
        if (h.arrived[i]! <= due) {
          upTo = i + 1;
          break;
        }
      }
      if (upTo === 0) continue;
      this.stats.timedOut += upTo;
      this.release(id, false, upTo);
    }
    if (this.holds.size > 0) this.arm();
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

function insertByTime(h: Hold, r: Reading, token: unknown, arrived: number): void {
  let i = h.readings.length;
  while (i > 0 && (h.readings[i - 1]!.tsMs > r.tsMs || (h.readings[i - 1]!.tsMs === r.tsMs && h.readings[i - 1]!.seq > r.seq))) i--;
  h.readings.splice(i, 0, r);
  h.tokens.splice(i, 0, token);
  h.arrived.splice(i, 0, arrived);
}
