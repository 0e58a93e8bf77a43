/**
 * The sequence model of one device (docs/adr/0011-sequence-model.md): which readings are new, which
 * are duplicates, and which epoch (counter lifetime) each belongs to.
 *
 * A reading is identified by (device, epoch, seq) when the device counts, by (device, epoch, ts)
 * when it does not (seq 0 on a device without a wrapping counter). An epoch ends when the device
 * says so (a new `boot` number) or when a restart is inferred: a seq at or below the high-water
 * mark that is no open gap, with a timestamp later than every reading applied so far (a duplicate
 * carries its original, older timestamp). Within an epoch: the high-water mark plus the seqs
 * skipped below it (gaps), as before epochs. Wrapping counters (8/16/32 bits) are unwrapped to a
 * growing counter first; a forward jump beyond `maxJump` is out of range until `jumpConfirmations`
 * later readings continue from it; a straggler of the previous epoch (older than the current
 * epoch's first reading, or carrying its boot number) is checked against that epoch's marks.
 * Pure data and functions; no I/O, no clock.
 */

/** Seq bookkeeping of one epoch. */
export interface EpochMarks {
  /** Shoal's number of this epoch for the device: 0, 1, 2, … (stored with every row). */
  epoch: number;
  /** The device's boot number of this epoch, -1 when it sent none. */
  boot: number;
  /** Highest (unwrapped) seq applied; 0: none yet. */
  hwm: number;
  /** Timestamp of the reading at `hwm`. */
  hwmTsMs: number;
  /** Ascending seqs below hwm not seen yet; null when there are none (the common case). */
  gaps: number[] | null;
  /** Timestamp of the epoch's first reading. */
  startTsMs: number;
  /**
   * Lowest seq whose fate is known: gaps cover [floor, hwm). The first reading of an epoch sets
   * it (a counter may start anywhere); a reading below it measured before the epoch's first one
   * opens the gaps below it then (lazily: most devices never need them).
   */
  floor: number;
}

/** Everything the model keeps per device (inline in the device state). */
export interface SeqState extends EpochMarks {
  /** Gaps forgotten because more than maxGaps were open (all epochs). */
  gapsForgotten: number;
  /** Latest timestamp applied (all epochs). */
  lastTsMs: number;
  /** The epoch before the current one (stragglers), or null. */
  prev: EpochMarks | null;
  /** A suspect forward jump (seq beyond maxJump), 0: none; and readings that confirmed it. */
  jump: number;
  jumpHits: number;
  /** Recent timestamps of readings without seq (newest last), or null. */
  seen: number[] | null;
}

/** Per device type settings of the model. */
export interface SeqPolicy {
  /** Most out-of-order gaps remembered below the high-water mark (the reorder window). */
  readonly maxGaps: number;
  /** Largest forward jump taken without confirmation. */
  readonly maxJump: number;
  /** Later readings continuing from a jump that make it accepted. */
  readonly jumpConfirmations: number;
  /** Counter width in bits (8, 16, 32) when the device's counter wraps; 0: it does not. */
  readonly wrapBits: number;
}

/** Timestamps of readings without seq remembered for duplicate detection. */
export const SEEN_TIMESTAMPS = 64;

/** What became of a reading. */
export const Verdict = {
  /** Apply it: epoch and seq to store are in `placed`. */
  New: 0,
  /** Already applied (same epoch and seq, same timestamp as far as known). */
  Duplicate: 1,
  /** Same epoch and seq as an applied reading, different timestamp: the first one stays. */
  ConflictingDuplicate: 2,
  /** A forward jump beyond maxJump, not (yet) confirmed. */
  OutOfRange: 3,
  /** Older than the current and the previous epoch: cannot be checked. */
  StaleEpoch: 4,
  /** Below the reorder window while gaps were forgotten: a duplicate or a reading too late to check. */
  TooLate: 5,
} as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** Where a new reading goes; `restarted`: it began an epoch (inferred or from its boot number). */
export interface Placement {
  epoch: number;
  seq: number;
  restarted: "" | "inferred" | "boot";
}

/** Filled by {@link acceptReading} when it returns Verdict.New (one object: no allocation per reading). */
export const placed: Placement = { epoch: 0, seq: 0, restarted: "" };

export function newSeqState(): SeqState {
  return { epoch: 0, boot: -1, hwm: 0, hwmTsMs: 0, gaps: null, startTsMs: 0, floor: 0, gapsForgotten: 0, lastTsMs: 0, prev: null, jump: 0, jumpHits: 0, seen: null };
}

/**
 * Decide about a reading (`seq` as sent, `boot` or undefined, `tsMs`) and record it when new.
 * Deterministic: the same readings in the same order give the same verdicts and state.
 */
export function acceptReading(s: SeqState, seq: number, boot: number | undefined, tsMs: number, p: SeqPolicy): Verdict {
  placed.restarted = "";
  if (boot !== undefined && boot !== s.boot) {
    if (s.boot === -1 && s.hwm === 0 && s.seen === null) s.boot = boot; // first words of the device
    else if (s.prev !== null && boot === s.prev.boot) return accept(s.prev, s, seq, tsMs, p, false);
    else if (tsMs < s.startTsMs && s.prev !== null) return Verdict.StaleEpoch;
    else {
      // A boot number other than the current one (also the first after none): a new epoch.
      startEpoch(s, boot, tsMs);
      placed.restarted = "boot";
    }
  } else if (boot === undefined && s.prev !== null && s.prev.boot === -1 && tsMs < s.startTsMs && !(seq < s.floor && tsMs > s.prev.hwmTsMs)) {
    // Older than the current epoch's first reading: a straggler of the previous one — unless it
    // was measured after the previous epoch's last reading and counts below the current one's
    // first: the start of the current count, overtaken by its next readings.
    return accept(s.prev, s, seq, tsMs, p, false);
  }
  return accept(s, s, seq, tsMs, p, s.boot === -1);
}

/** `e` is the epoch checked (current or previous); `s` the whole state. */
function accept(e: EpochMarks, s: SeqState, seq: number, tsMs: number, p: SeqPolicy, infer: boolean): Verdict {
  if (seq === 0 && p.wrapBits === 0) return acceptUncounted(e, s, tsMs);
  const x = p.wrapBits > 0 ? unwrap(seq, e.hwm, p.wrapBits, Math.sign(tsMs - e.hwmTsMs)) : seq;
  if (e.hwm === 0) {
    e.hwm = x;
    e.floor = x;
    e.hwmTsMs = tsMs;
    if (e.startTsMs === 0) e.startTsMs = tsMs;
    return placeNew(e, s, x, tsMs, p);
  }
  if (x > e.hwm) {
    if (p.wrapBits === 0 && x - e.hwm > p.maxJump) {
      if (s.jump > 0 && x > s.jump && x - s.jump <= Math.max(p.maxGaps, 1)) {
        if (++s.jumpHits < p.jumpConfirmations) return Verdict.OutOfRange;
      } else {
        s.jump = x;
        s.jumpHits = 0;
        return Verdict.OutOfRange;
      }
    }
    s.jump = 0;
    const missing = x - e.hwm - 1;
    if (missing > 0) openGaps(e, s, x, p.maxGaps);
    e.hwm = x;
    e.hwmTsMs = tsMs;
    return placeNew(e, s, x, tsMs, p);
  }
  if (x < e.floor && tsMs < e.startTsMs && e.floor > 1) openBelowFloor(e, p.maxGaps);
  const gaps = e.gaps;
  if (gaps !== null) {
    const i = binarySearch(gaps, x);
    if (i >= 0) {
      gaps.splice(i, 1);
      if (gaps.length === 0) e.gaps = null;
      return placeNew(e, s, x, tsMs, p);
    }
  }
  // At or below the mark and no open gap: a duplicate, unless its timestamp is later than
  // everything applied (a duplicate carries its original timestamp): then the counter restarted.
  if (infer && p.wrapBits === 0 && e === s && tsMs > s.lastTsMs && x < e.hwm) {
    startEpoch(s, s.boot, tsMs);
    placed.restarted = "inferred";
    return accept(s, s, seq, tsMs, p, false);
  }
  if (x === e.hwm) return tsMs === e.hwmTsMs ? Verdict.Duplicate : Verdict.ConflictingDuplicate;
  if (s.gapsForgotten > 0 && x <= e.hwm - p.maxGaps) return Verdict.TooLate;
  return Verdict.Duplicate;
}

/** A reading of a device without counter: new unless its timestamp is among the recent ones. */
function acceptUncounted(e: EpochMarks, s: SeqState, tsMs: number): Verdict {
  const seen = (s.seen ??= []);
  if (seen.includes(tsMs)) return Verdict.Duplicate;
  seen.push(tsMs);
  if (seen.length > SEEN_TIMESTAMPS) seen.shift();
  if (e.startTsMs === 0) e.startTsMs = tsMs;
  placed.epoch = e.epoch;
  placed.seq = 0;
  if (tsMs > s.lastTsMs) s.lastTsMs = tsMs;
  return Verdict.New;
}

function placeNew(e: EpochMarks, s: SeqState, x: number, tsMs: number, p: SeqPolicy): Verdict {
  placed.epoch = e.epoch;
  // Wrapping counters are unwrapped 1-based (0 marks "none yet"): store the device's numbering.
  placed.seq = p.wrapBits > 0 ? x - 1 : x;
  if (tsMs > s.lastTsMs) s.lastTsMs = tsMs;
  return Verdict.New;
}

/** Ends the current epoch (kept as `prev` for stragglers) and starts the next one. */
function startEpoch(s: SeqState, boot: number, tsMs: number): void {
  s.prev = { epoch: s.epoch, boot: s.boot, hwm: s.hwm, hwmTsMs: s.hwmTsMs, gaps: s.gaps, startTsMs: s.startTsMs, floor: s.floor };
  s.epoch++;
  s.boot = boot;
  s.hwm = 0;
  s.hwmTsMs = 0;
  s.gaps = null;
  s.startTsMs = tsMs;
  s.floor = 0;
  s.jump = 0;
  s.jumpHits = 0;
}

function openGaps(e: EpochMarks, s: SeqState, x: number, maxGaps: number): void {
  const gaps = e.gaps ?? [];
  const from = Math.max(e.hwm + 1, x - maxGaps);
  s.gapsForgotten += from - (e.hwm + 1);
  for (let q = from; q < x; q++) gaps.push(q);
  if (gaps.length > maxGaps) {
    s.gapsForgotten += gaps.length - maxGaps;
    gaps.splice(0, gaps.length - maxGaps);
  }
  e.gaps = gaps.length > 0 ? gaps : null;
}

/** Opens up to maxGaps gaps just below the floor (readings measured before the epoch's first one). */
function openBelowFloor(e: EpochMarks, maxGaps: number): void {
  const from = Math.max(1, e.floor - maxGaps);
  const below: number[] = [];
  for (let q = from; q < e.floor; q++) below.push(q);
  e.gaps = e.gaps === null ? below : below.concat(e.gaps);
  e.floor = from;
}

/**
 * A `bits`-wide counter value as a growing 1-based counter, relative to the mark `hwm` (1-based,
 * 0: none yet). `direction` compares the reading's timestamp with the mark's: later (1) takes the
 * next value after the mark with `raw` as its low bits, earlier (-1) the last one at or before it,
 * equal (0) the nearest. Timestamps tell a wrap from a late reading across a whole cycle, so
 * readings may arrive up to 2^bits - 1 places out of order.
 */
export function unwrap(raw: number, hwm: number, bits: number, direction = 0): number {
  const m = 2 ** bits;
  const r = raw % m;
  if (hwm === 0) return r + 1;
  const cur = hwm - 1;
  const same = cur - (cur % m) + r; // the mark's cycle
  let x: number;
  if (direction > 0) x = same > cur ? same : same + m;
  else if (direction < 0) x = same <= cur ? same : same - m;
  else x = same > cur + m / 2 ? same - m : same <= cur - m / 2 ? same + m : same;
  if (x < 0) x += m;
  return x + 1;
}

function binarySearch(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = a[mid]!;
    if (v === x) return mid;
    if (v < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
