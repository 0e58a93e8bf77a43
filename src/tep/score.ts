/**
 * Fault-detection figures of one TEP test run, in the literature's terms (Russell, Chiang & Braatz
 * 2000; Yin et al. 2012), from per-sample flags (score ≥ threshold). Pure.
 *
 * - FDR (fault detection rate): flagged samples among those after the onset (the complement of the
 *   literature's "missed detection rate").
 * - FAR (false alarm rate): flagged samples among those before the onset.
 * - Delay: samples from the onset to the first flag at or after it; 1 is the first faulty sample,
 *   taken 3 minutes after the fault was introduced. Undefined: never detected. An operator's alarm
 *   counts once, so "detected at all" is reported beside the rate.
 * - Held FDR / FAR (our own measure, not the literature's): a flag is held for `hold` samples (the
 *   flagged sample and the hold − 1 after it), as an alarm an operator sees stays up; the held FDR
 *   is the fraction of post-onset samples under a held post-onset flag, the held FAR the same for
 *   pre-onset samples and pre-onset flags. It undoes what the detector's alarm rest takes from the
 *   per-sample FDR (scores damped for `restPoints` readings after an alarm).
 */

/** Figures of one run. Rates in [0, 1]; NaN where the run has no sample of that kind. */
export interface DetectionFigures {
  readonly samples: number;
  readonly onset: number;
  readonly fdr: number;
  readonly far: number;
  readonly heldFdr: number;
  readonly heldFar: number;
  /** Flags before the onset. */
  readonly falseFlags: number;
  /** Samples from the onset to the first flag at or after it (1 = the first faulty sample); undefined: none. */
  readonly delaySamples: number | undefined;
  readonly detected: boolean;
}

/** Flags of `scores`: 1 where the score is at least `threshold`. */
export function flagsOf(scores: ArrayLike<number>, threshold: number): Uint8Array {
  const out = new Uint8Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = scores[i]! >= threshold ? 1 : 0;
  return out;
}

/** `flags` with each flag held for `hold` samples (itself and the hold − 1 after it); hold ≤ 1 copies. */
export function holdFlags(flags: ArrayLike<number>, hold: number): Uint8Array {
  const out = new Uint8Array(flags.length);
  let left = 0;
  for (let i = 0; i < flags.length; i++) {
    if (flags[i]! !== 0) left = Math.max(hold, 1);
    if (left > 0) {
      out[i] = 1;
      left--;
    }
  }
  return out;
}

/**
 * Figures of a run whose samples from index `onset` on are faulty (onset = flags.length: a normal
 * run, FAR over all of it). `hold` is the number of samples a flag is held for the held rates.
 */
export function detectionFigures(flags: ArrayLike<number>, onset: number, hold: number): DetectionFigures {
  const n = flags.length;
  if (!(Number.isInteger(onset) && onset >= 0 && onset <= n)) throw new RangeError(`onset must be an integer in [0, ${n}], got ${onset}`);
  const pre = Array.from({ length: onset }, (_, i) => flags[i]!);
  const post = Array.from({ length: n - onset }, (_, i) => flags[onset + i]!);
  const count = (a: ArrayLike<number>) => {
    let c = 0;
    for (let i = 0; i < a.length; i++) if (a[i]! !== 0) c++;
    return c;
  };
  const falseFlags = count(pre);
  const hits = count(post);
  const first = post.findIndex((f) => f !== 0);
  return {
    samples: n,
    onset,
    fdr: post.length === 0 ? NaN : hits / post.length,
    far: onset === 0 ? NaN : falseFlags / onset,
    heldFdr: post.length === 0 ? NaN : count(holdFlags(post, hold)) / post.length,
    heldFar: onset === 0 ? NaN : count(holdFlags(pre, hold)) / onset,
    falseFlags,
    delaySamples: first < 0 ? undefined : first + 1,
    detected: first >= 0,
  };
}

/** Mean of the finite values of `xs` (NaN when none). */
export function meanOf(xs: readonly number[]): number {
  const f = xs.filter((x) => Number.isFinite(x));
  return f.length === 0 ? NaN : f.reduce((a, b) => a + b, 0) / f.length;
}
