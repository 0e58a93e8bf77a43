import { createHash } from "node:crypto";
import type { MetricWindow } from "../ports/gateway.js";
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

/** Parts that make up a cache key; `null`/absent parts are skipped. */
export interface SignatureParts {
  readonly op: string;
  /** `<prompt>@<version>` and model key: a new prompt version or model never reuses old answers. */
  readonly promptVersion: string;
  readonly model: string;
  readonly window?: MetricWindow;
  /** Extra normalised-at-source discriminators (score bucket, context, text). */
  readonly extra?: readonly string[];
}

/** Normalised pattern signature (hex sha-256 prefix) of a request: the cache key. */
export function patternSignature(parts: SignatureParts, opts: SignatureOptions): string {
  const h = createHash("sha256");
  h.update(`${parts.op}\u0000${parts.promptVersion}\u0000${parts.model}\u0000`);
  if (parts.window) h.update(`${normaliseText(parts.window.metric)}\u0000${shapeCode(parts.window.values, opts)}\u0000`);
  for (const e of parts.extra ?? []) h.update(`${e}\u0000`);
  return h.digest("hex").slice(0, 32);
}

/** Normalised context map as one string (sorted keys, normalised values). */
export function normaliseContext(ctx: Readonly<Record<string, string>> | undefined): string {
  if (!ctx) return "";
  return Object.keys(ctx)
    .sort()
    .map((k) => `${k}=${normaliseText(ctx[k]!)}`)
    .join(";");
}
