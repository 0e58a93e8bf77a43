/**
 * The NAB scoring method (Lavin & Ahmad 2015, NAB v1.1 "sweeper"), written from the published
 * description: labelled anomaly windows, a scaled sigmoid that rewards the first detection inside a
 * window by how early it comes, false positives weighted by their distance past the preceding
 * window, a probationary period that is never scored, and one threshold per profile chosen over the
 * whole corpus. Pure: no I/O.
 */

/** Weights of one NAB application profile (`config/profiles.json` → `CostMatrix`). */
export interface CostMatrix {
  readonly tpWeight: number;
  readonly fpWeight: number;
  readonly fnWeight: number;
}

/** A named NAB profile. */
export interface Profile {
  readonly name: string;
  readonly costMatrix: CostMatrix;
}

/** The three published NAB profiles. */
export const NAB_PROFILES: readonly Profile[] = [
  { name: "standard", costMatrix: { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 } },
  { name: "reward_low_FP_rate", costMatrix: { tpWeight: 1, fpWeight: 0.22, fnWeight: 1 } },
  { name: "reward_low_FN_rate", costMatrix: { tpWeight: 1, fpWeight: 0.11, fnWeight: 2 } },
];

/** An anomaly window as inclusive row indices of its file. */
export interface WindowSpan {
  readonly start: number;
  readonly end: number;
}

/** Fraction of each file that is probationary (not scored). */
export const PROBATION_FRACTION = 0.15;

/**
 * Scaled sigmoid of a relative position: -1 (left window edge) → 0.9866, 0 (right edge) → 0,
 * +1 (one window length past the right edge) → -0.9866, ≥ 3 → -1.
 */
export function scaledSigmoid(relativePosition: number): number {
  if (relativePosition >= 3) return -1;
  return 2 / (1 + Math.exp(5 * relativePosition)) - 1;
}

/** Rows scored in a file of `numRows`: the first min(floor(15% n), 15% of 5000) are skipped. */
export function probationLength(numRows: number, fraction = PROBATION_FRACTION): number {
  return Math.min(Math.floor(fraction * numRows), fraction * 5000);
}

/**
 * Per-row scoring weights of one file, independent of the profile: for a row inside a window the
 * TP factor (scaled sigmoid of its position, 1 at the left edge), for a row outside one the FP
 * factor (negative, 0 just after a window, -1 far from it or before any window).
 */
export interface SweptFile {
  /** Number of rows. */
  readonly length: number;
  /** Rows below this index are probationary. */
  readonly probation: number;
  /** Window index (into the file's window list) of each row, or -1 outside every window. */
  readonly windowOf: Int32Array;
  /** TP factor in (0, 1] inside a window, FP factor in [-1, 0] outside. */
  readonly factor: Float64Array;
  /** Number of windows of the file. */
  readonly windows: number;
  /** Number of windows with at least one scorable (post-probation) row. */
  readonly scorableWindows: number;
}

/** Computes the per-row weights of a file with `length` rows and the given windows (sorted, disjoint). */
export function sweepFile(length: number, windows: readonly WindowSpan[]): SweptFile {
  const windowOf = new Int32Array(length).fill(-1);
  const factor = new Float64Array(length);
  const probation = probationLength(length);
  const maxTp = scaledSigmoid(-1);
  let prevRight = -1;
  let prevWidth = 0;
  let w = 0;
  for (let i = 0; i < length; i++) {
    while (w < windows.length && windows[w]!.end < i) {
      prevRight = windows[w]!.end;
      prevWidth = windows[w]!.end - windows[w]!.start + 1;
      w++;
    }
    const win = windows[w];
    if (win !== undefined && i >= win.start && i <= win.end) {
      const width = win.end - win.start + 1;
      windowOf[i] = w;
      factor[i] = scaledSigmoid(-(win.end - i + 1) / width) / maxTp;
    } else if (prevRight < 0) {
      factor[i] = scaledSigmoid(3);
    } else {
      // A one-row window divides by zero: Infinity → -1, as in the published sweeper.
      factor[i] = scaledSigmoid(Math.abs(prevRight - i) / (prevWidth - 1));
    }
  }
  let scorableWindows = 0;
  for (const win of windows) if (win.end >= probation && win.end < length) scorableWindows++;
  return { length, probation, windowOf, factor, windows: windows.length, scorableWindows };
}

/** Score of one threshold over a corpus: raw NAB score plus record counts. */
export interface ThresholdScore {
  /** Rows with anomaly score ≥ threshold are detections. */
  readonly threshold: number;
  readonly score: number;
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
  readonly tn: number;
}

/** One file prepared for corpus-level threshold optimisation. */
export interface ScoredFile {
  readonly swept: SweptFile;
  /** Detector output, one per row. */
  readonly scores: ArrayLike<number>;
}

/**
 * Raw score of every distinct threshold (descending, starting with "detect nothing" at +Infinity)
 * over the whole corpus for one profile, in O(n log n).
 */
export function sweepThresholds(files: readonly ScoredFile[], cost: CostMatrix): ThresholdScore[] {
  let n = 0;
  for (const f of files) n += f.swept.length - f.swept.probation;
  const score = new Float64Array(n);
  const win = new Int32Array(n); // global window id, -1 = outside
  const weight = new Float64Array(n);
  let k = 0;
  let windowBase = 0;
  let numWindows = 0;
  let allWindows = 0;
  for (const f of files) allWindows += f.swept.windows;
  const seen = new Uint8Array(allWindows);
  for (const f of files) {
    const { swept } = f;
    if (f.scores.length !== swept.length) throw new RangeError(`scores.length ${f.scores.length} must equal the file's ${swept.length} rows`);
    for (let i = swept.probation; i < swept.length; i++) {
      score[k] = f.scores[i]!;
      const w = swept.windowOf[i]!;
      if (w >= 0) {
        win[k] = windowBase + w;
        weight[k] = swept.factor[i]! * cost.tpWeight;
        if (!seen[windowBase + w]) {
          seen[windowBase + w] = 1;
          numWindows++;
        }
      } else {
        win[k] = -1;
        weight[k] = swept.factor[i]! * cost.fpWeight;
      }
      k++;
    }
    windowBase += swept.windows;
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => score[b]! - score[a]! || a - b);

  const best = new Float64Array(allWindows).fill(-cost.fnWeight);
  let total = -numWindows * cost.fnWeight;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < n; i++) if (win[i]! >= 0) fn++;
  let tn = n - fn;
  const out: ThresholdScore[] = [];
  let cur = Number.POSITIVE_INFINITY;
  for (let j = 0; j < n; j++) {
    const i = order[j]!;
    const s = score[i]!;
    if (s !== cur) {
      out.push({ threshold: cur, score: total, tp, fp, fn, tn });
      cur = s;
    }
    const w = win[i]!;
    if (w < 0) {
      total += weight[i]!;
      fp++;
      tn--;
    } else {
      const prev = best[w]!;
      if (weight[i]! > prev) {
        total += weight[i]! - prev;
        best[w] = weight[i]!;
      }
      tp++;
      fn--;
    }
  }
  out.push({ threshold: cur, score: total, tp, fp, fn, tn });
  return out;
}

/** The best threshold of a sweep; ties go to the higher threshold. */
export function bestThreshold(sweep: readonly ThresholdScore[]): ThresholdScore {
  let best = sweep[0]!;
  for (const s of sweep) if (s.score > best.score) best = s;
  return best;
}

/** Counts windows with at least one scorable row over a corpus. */
export function countScorableWindows(files: readonly ScoredFile[]): number {
  let n = 0;
  for (const f of files) n += f.swept.scorableWindows;
  return n;
}

/** Result of one profile over a corpus. */
export interface ProfileResult {
  readonly profile: string;
  /** Normalised score: 100 (raw − null) / (perfect − null). */
  readonly score: number;
  readonly raw: number;
  readonly threshold: number;
  readonly best: ThresholdScore;
  /** Raw score of the null detector (detects nothing): −fnWeight per window. */
  readonly nullRaw: number;
  /** Raw score of the perfect detector: tpWeight per window. */
  readonly perfectRaw: number;
}

/** Optimises the threshold of each profile over the corpus and normalises the result. */
export function scoreCorpus(files: readonly ScoredFile[], profiles: readonly Profile[] = NAB_PROFILES): ProfileResult[] {
  const windows = countScorableWindows(files);
  return profiles.map((p) => {
    const best = bestThreshold(sweepThresholds(files, p.costMatrix));
    const nullRaw = -windows * p.costMatrix.fnWeight;
    const perfectRaw = windows * p.costMatrix.tpWeight;
    const score = perfectRaw === nullRaw ? 0 : (100 * (best.score - nullRaw)) / (perfectRaw - nullRaw);
    return { profile: p.name, score, raw: best.score, threshold: best.threshold, best, nullRaw, perfectRaw };
  });
}

/** Raw score of one file at a fixed threshold (for per-file breakdowns). */
export function scoreFileAt(file: ScoredFile, cost: CostMatrix, threshold: number): { score: number; tp: number; fp: number; missed: number } {
  const { swept, scores } = file;
  const bestByWindow = new Map<number, number>();
  let fpSum = 0;
  let fp = 0;
  let tp = 0;
  for (let i = swept.probation; i < swept.length; i++) {
    if (!(scores[i]! >= threshold)) continue;
    const w = swept.windowOf[i]!;
    if (w < 0) {
      fpSum += swept.factor[i]! * cost.fpWeight;
      fp++;
    } else {
      tp++;
      const v = swept.factor[i]! * cost.tpWeight;
      if (v > (bestByWindow.get(w) ?? -Infinity)) bestByWindow.set(w, v);
    }
  }
  let score = fpSum - (swept.scorableWindows - bestByWindow.size) * cost.fnWeight;
  for (const v of bestByWindow.values()) score += v;
  return { score, tp, fp, missed: swept.scorableWindows - bestByWindow.size };
}
