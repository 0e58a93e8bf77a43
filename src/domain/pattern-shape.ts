/**
 * Shape of a metric window, as a short code: what the model gateway keys its cache on and what a
 * device actor keys its own cache on (same shape seen before → same explanation). Pure.
 */
import { windowStats } from "./window-stats.js";

/** Resolution of a pattern signature. */
export interface SignatureOptions {
  /** Piecewise-aggregate segments the window is reduced to. */
  readonly segments: number;
  /** Quantisation levels of each segment (over ±3 σ). */
  readonly levels: number;
}

/**
 * Shape code of a window: robustly z-normalise (median/MAD), reduce to `segments` piecewise
 * averages (PAA), quantise each into `levels` bins over [-3σ, 3σ] (SAX-like) and add the
 * magnitude of the last value's deviation. Two windows with the same shape at different levels or
 * on different devices get the same code, which is what lets one explanation serve many devices.
 */
export function shapeCode(values: readonly number[], opts: SignatureOptions): string {
  const n = values.length;
  if (n === 0) return "empty";
  const s = windowStats(values);
  const scale = s.mad > 1e-12 ? s.mad : s.std > 1e-12 ? s.std : 1;
  const segs = Math.min(opts.segments, n);
  let code = "";
  for (let k = 0; k < segs; k++) {
    const from = Math.floor((k * n) / segs);
    const to = Math.floor(((k + 1) * n) / segs);
    let sum = 0;
    for (let i = from; i < to; i++) sum += values[i]!;
    const z = (sum / (to - from) - s.median) / scale;
    const clamped = Math.max(-3, Math.min(3 - 1e-9, z));
    code += String.fromCharCode(97 + Math.floor(((clamped + 3) / 6) * opts.levels));
  }
  // Deviation magnitude of the last value, in octaves of σ: spikes of 5σ and 50σ read differently.
  const mag = Math.sign(s.lastZ) * Math.round(Math.log2(1 + Math.abs(s.lastZ)));
  return `${code}:${mag}`;
}

/** Lowercase, digits → '#', collapse whitespace: "disk 93% full at 10:42" ≈ "Disk 95% full at 11:07". */
export function normaliseText(s: string): string {
  return s.toLowerCase().replace(/\d+(\.\d+)?/g, "#").replace(/\s+/g, " ").trim();
}
