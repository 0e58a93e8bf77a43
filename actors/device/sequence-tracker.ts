/**
 * Exactly-once acceptance of device sequence numbers under bounded reordering.
 * Keeps the high-water mark (highest seq applied) and the set of seqs skipped below it (gaps).
 * A seq above the mark is new; a seq at or below it is new only if it is a remembered gap.
 * At most `maxGaps` gaps are remembered (the oldest are forgotten first and counted).
 */
export interface SeqState {
  hwm: number;
  /** Ascending seqs below hwm not seen yet; null when there are none (the common case). */
  gaps: number[] | null;
  /** Gaps forgotten because more than maxGaps were open. */
  gapsForgotten: number;
}

export function newSeqState(): SeqState {
  return { hwm: 0, gaps: null, gapsForgotten: 0 };
}

/** "new" if seq should be applied (and records it), "duplicate" if already applied or forgotten. */
export function acceptSeq(s: SeqState, seq: number, maxGaps: number): "new" | "duplicate" {
  if (seq > s.hwm) {
    const missing = seq - s.hwm - 1;
    if (missing > 0) {
      const gaps = s.gaps ?? [];
      const from = Math.max(s.hwm + 1, seq - maxGaps);
      s.gapsForgotten += from - (s.hwm + 1);
      for (let q = from; q < seq; q++) gaps.push(q);
      if (gaps.length > maxGaps) {
        s.gapsForgotten += gaps.length - maxGaps;
        gaps.splice(0, gaps.length - maxGaps);
      }
      s.gaps = gaps;
    }
    s.hwm = seq;
    return "new";
  }
  const gaps = s.gaps;
  if (gaps === null) return "duplicate";
  const i = binarySearch(gaps, seq);
  if (i < 0) return "duplicate";
  gaps.splice(i, 1);
  if (gaps.length === 0) s.gaps = null;
  return "new";
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
