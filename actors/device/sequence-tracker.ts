/**
 * The sequence model of one device (docs/adr/0011-sequence-model.md): which readings are new, which
 * are duplicates, and which epoch (counter lifetime) each belongs to.
 *
 * A reading is identified by (device, epoch, seq) when the device counts, by (device, epoch, ts)
 * when it does not (seq 0 on a device without a wrapping counter). An epoch ends when the device
 * says so (a new `boot` number) or when a restart is inferred: a seq below the high-water mark
 * that is no open gap, measured after the reading at the mark (a duplicate carries its original,
 * older timestamp). Within an epoch: the high-water mark plus the runs of seqs skipped below it
 * (gaps, kept as ranges: a batch that overtakes the one before it leaves one gap, whatever its
 * size). Wrapping counters (8/16/32 bits) are unwrapped to a growing counter first; a forward
 * jump beyond `maxJump` is out of range until `jumpConfirmations` later readings continue from it;
 * a straggler of the previous epoch (older than the current epoch's first reading, or carrying its
 * boot number) is checked against that epoch's marks.
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
  /**
   * Seqs below hwm not seen yet, as ascending disjoint half-open ranges in pairs: [from0, to0,
   * from1, to1, …] holds from0 … to0 - 1 and so on; null when there are none (the common case).
   * Two ranges are always apart (the seq between them was seen).
   */
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
  /**
   * Most gaps (runs of missing seqs, each of any length) remembered below the high-water mark: the
   * reorder window. Also the least width of the gap opened lazily below an epoch's first reading.
   */
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
  if (x < e.floor && tsMs < e.startTsMs && e.floor > 1) openBelowFloor(e, x, p.maxGaps);
  const gaps = e.gaps;
  if (gaps !== null) {
    const i = gapAt(gaps, x);
    if (i >= 0) {
      fillGap(e, s, gaps, i, x, p.maxGaps);
      return placeNew(e, s, x, tsMs, p);
    }
  }
  // At or below the mark and no open gap: a duplicate, unless it was measured after the reading at
  // the mark (a duplicate carries its original timestamp; one count cannot go down): then the
  // counter restarted. The mark is the newest reading unless a reading of a new count was taken
  // for the old one's continuation (it arrived before the rest of the old count): the old count's
  // later readings then move the mark, and the new count's own readings still tell the restart.
  if (infer && p.wrapBits === 0 && e === s && tsMs > e.hwmTsMs && x < e.hwm) {
    startEpoch(s, s.boot, tsMs);
    placed.restarted = "inferred";
    return accept(s, s, seq, tsMs, p, false);
  }
  if (x === e.hwm) return tsMs === e.hwmTsMs ? Verdict.Duplicate : Verdict.ConflictingDuplicate;
  // Forgotten gaps lie below the maxGaps kept ones, each followed by a seen seq: at or below
  // hwm - maxGaps. Above that, a seq that is no gap was seen.
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

/** Opens the gap hwm + 1 … x - 1 (one range), forgetting the oldest gaps beyond maxGaps. */
function openGaps(e: EpochMarks, s: SeqState, x: number, maxGaps: number): void {
  const gaps = e.gaps ?? [];
  gaps.push(e.hwm + 1, x);
  e.gaps = forgetOldest(gaps, s, maxGaps);
}

/** Keeps the newest maxGaps ranges of `gaps` (counting the seqs of the others as forgotten); null when none is left. */
function forgetOldest(gaps: number[], s: SeqState, maxGaps: number): number[] | null {
  const over = gaps.length / 2 - maxGaps;
  if (over > 0) {
    for (let k = 0; k < 2 * over; k += 2) s.gapsForgotten += gaps[k + 1]! - gaps[k]!;
    gaps.splice(0, 2 * over);
  }
  return gaps.length > 0 ? gaps : null;
}

/** Seq x of the range at pair index i is seen: the range shrinks, goes or splits in two. */
function fillGap(e: EpochMarks, s: SeqState, gaps: number[], i: number, x: number, maxGaps: number): void {
  const from = gaps[i]!;
  const to = gaps[i + 1]!;
  if (to - from === 1) gaps.splice(i, 2);
  else if (x === from) gaps[i] = from + 1;
  else if (x === to - 1) gaps[i + 1] = to - 1;
  else gaps.splice(i + 1, 0, x, x + 1);
  e.gaps = forgetOldest(gaps, s, maxGaps);
}

/**
 * A reading x measured before the epoch's first one, below the floor: the seqs from x (or maxGaps
 * below the floor, if lower) up to the floor become one gap, so it and the ones between are new.
 */
function openBelowFloor(e: EpochMarks, x: number, maxGaps: number): void {
  const from = Math.max(1, Math.min(x, e.floor - maxGaps));
  if (from < e.floor) e.gaps = e.gaps === null ? [from, e.floor] : [from, e.floor, ...e.gaps];
  e.floor = from;
}

/** Seqs as gap ranges: ascending seqs (as snapshots before version 8 hold them) to [from, to) pairs. */
export function gapRanges(seqs: readonly number[]): number[] {
  const out: number[] = [];
  for (const q of seqs) {
    if (out.length > 0 && out[out.length - 1] === q) out[out.length - 1] = q + 1;
    else out.push(q, q + 1);
  }
  return out;
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

/** Pair index of the range of `gaps` holding x, or -1. */
function gapAt(gaps: number[], x: number): number {
  let lo = 0;
  let hi = gaps.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (x < gaps[2 * mid]!) hi = mid - 1;
    else if (x >= gaps[2 * mid + 1]!) lo = mid + 1;
    else return 2 * mid;
  }
  return -1;
}
