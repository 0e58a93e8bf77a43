import type { Explanation, MetricWindow } from "../../ports/gateway.js";
import { fnv1a32 } from "../../base/hash.js";
import { fmt } from "../prompts.js";
import { normaliseText } from "../signature.js";
import { conceptTokens } from "./local-lexicon.js";
import type { WindowStats } from "../../domain/window-stats.js";
import { robustLastZ, windowStats } from "../../domain/window-stats.js";

/** Anomaly score in [0, 1] of a window's last value (swappable: the NAB detector plugs in here). */
export type ScoreFn = (window: MetricWindow) => number;

/**
 * Default local scorer: robust z-score of the last value against the rest (median/MAD), mapped
 * through a logistic so |z| = 4 → 0.5, |z| = 6 → 0.95, |z| = 2 → 0.05.
 */
export const robustZScore: ScoreFn = (w) => zToScore(windowStats(w.values).lastZ);

/** `robustZScore` with its own scratch buffers: no allocation per call (windows up to `maxWindow`). */
export function createRobustZScore(maxWindow = 10_000): ScoreFn {
  const a = new Float64Array(maxWindow);
  const b = new Float64Array(maxWindow);
  return (w) => (w.values.length <= maxWindow ? zToScore(robustLastZ(w.values, a, b)) : robustZScore(w));
}

/** Map a z-score to [0, 1]. */
export function zToScore(z: number): number {
  return 1 / (1 + Math.exp(-1.5 * (Math.abs(z) - 4)));
}

/** The built-in, offline, deterministic models behind the `local` provider. */
export interface LocalModels {
  score(window: MetricWindow): number;
  explain(window: MetricWindow, score: number, context?: Readonly<Record<string, string>>): Explanation;
  embedText(text: string): number[];
  embedWindow(window: MetricWindow): number[];
  summarize(title: string, items: readonly string[]): string;
  /** Vector length of both embeddings. */
  readonly dims: number;
}

export interface LocalModelsOptions {
  /** Default: robust z-score (the composition root passes the NAB detector via createLocalScoreFn). */
  readonly scoreFn?: ScoreFn;
  /** Embedding length. Default 64. */
  readonly dims?: number;
}

type Shape = "spike" | "dip" | "level_shift" | "drift" | "flatline" | "dropout" | "noise";

function classify(values: readonly number[], s: WindowStats): Shape {
  if (s.n >= 2 && s.last === 0 && s.median !== 0) return "dropout";
  if (s.n >= 4 && s.mad < 1e-12 && s.std < 1e-12) return "flatline";
  const k = Math.max(2, Math.floor(s.n / 4));
  const tail = values.slice(-k);
  const scale = s.mad > 1e-12 ? s.mad : Math.max(s.std, 1e-9);
  const tailShifted = tail.every((v) => Math.abs(v - s.median) / scale > 2.5);
  if (tailShifted && tail.length >= 2) return "level_shift";
  const first = values.slice(0, k).reduce((a, b) => a + b, 0) / k;
  const lastK = tail.reduce((a, b) => a + b, 0) / tail.length;
  if (Math.abs(lastK - first) / scale > 3 && Math.abs(s.lastZ) < 6) return "drift";
  if (Math.abs(s.lastZ) >= 3) return s.lastZ > 0 ? "spike" : "dip";
  return "noise";
}

const causes: Record<Shape, [string, string]> = {
  spike: ["a sudden transient increase (load burst, electrical interference or a sensor glitch)", "Check the device for a transient event; if it repeats, inspect the sensor and its wiring."],
  dip: ["a sudden transient drop (brief outage, blocked sensor or a read error)", "Check power and connectivity around the event time; recalibrate the sensor if it recurs."],
  level_shift: ["a sustained change of operating level (configuration change, new load or a failing component)", "Confirm whether a change was made; if not, schedule an inspection of the device."],
  drift: ["a gradual drift (wear, fouling or calibration drift)", "Schedule calibration or maintenance before the value leaves its safe range."],
  flatline: ["a constant reading (stuck sensor or frozen firmware)", "Restart the device and verify the sensor responds to real changes."],
  dropout: ["a zero reading after normal values (sensor dropout or data loss)", "Check the sensor connection and the device's data path."],
  noise: ["ordinary variation with a borderline score", "No action needed; keep monitoring."],
};

function hashVector(tokens: readonly string[], dims: number): number[] {
  const v = new Array<number>(dims).fill(0);
  for (const t of tokens) {
    const h = fnv1a32(t);
    v[h % dims]! += (h >>> 31) & 1 ? 1 : -1;
  }
  return l2(v);
}

function l2(v: number[]): number[] {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s) || 1;
  return v.map((x) => x / n);
}

/** Create the local models. Everything is pure and deterministic. */
export function createLocalModels(opts: LocalModelsOptions = {}): LocalModels {
  const scoreFn = opts.scoreFn ?? createRobustZScore();
  const dims = opts.dims ?? 64;
  return {
    dims,
    score: (w) => {
      const s = scoreFn(w);
      return Number.isFinite(s) ? Math.min(1, Math.max(0, s)) : 0;
    },
    explain(w, score, context) {
      const s = windowStats(w.values);
      const shape = classify(w.values, s);
      const [cause, action] = causes[shape];
      const dir = s.last >= s.median ? "rose" : "fell";
      const ctx = context && Object.keys(context).length > 0 ? ` Context: ${Object.entries(context).map(([k, v]) => `${k}=${v}`).join(", ")}.` : "";
      return {
        summary: `${w.metric} on ${w.deviceId} ${dir} to ${fmt(s.last)} (${fmt(Math.abs(s.lastZ))} σ from its median ${fmt(s.median)}); anomaly score ${fmt(score)}.${ctx}`,
        likelyCause: `Pattern looks like ${cause}.`,
        suggestedAction: action,
      };
    },
    embedText(text) {
      const norm = normaliseText(text);
      const words = norm.split(/[^a-z#]+/).filter(Boolean);
      const grams: string[] = [...words.map((x) => `w:${x}`)];
      // Concepts weigh most: a paraphrase shares them where it shares no words (local-lexicon.ts).
      for (const c of conceptTokens(words)) grams.push(c, c, c, c, c, c);
      const padded = ` ${norm} `;
      for (let i = 0; i + 3 <= padded.length; i++) grams.push(`c:${padded.slice(i, i + 3)}`);
      return hashVector(grams, dims);
    },
    embedWindow(w) {
      const s = windowStats(w.values);
      const scale = s.mad > 1e-12 ? s.mad : s.std > 1e-12 ? s.std : 1;
      const n = w.values.length;
      const segs = Math.min(dims - 8, Math.max(1, n));
      const v = new Array<number>(dims).fill(0);
      for (let k = 0; k < segs && n > 0; k++) {
        const from = Math.floor((k * n) / segs);
        const to = Math.max(from + 1, Math.floor(((k + 1) * n) / segs));
        let sum = 0;
        for (let i = from; i < to; i++) sum += w.values[i]!;
        v[k] = Math.max(-10, Math.min(10, (sum / (to - from) - s.median) / scale));
      }
      v[dims - 1] = Math.max(-10, Math.min(10, s.lastZ));
      v[dims - 2] = Math.log1p(Math.abs(s.std / (Math.abs(s.median) + 1e-9)));
      v[dims - 3] = fnv1a32(normaliseText(w.metric)) % 1000 / 1000;
      return l2(v);
    },
    summarize(title, items) {
      const counts = new Map<string, { n: number; example: string }>();
      for (const it of items) {
        const k = normaliseText(it);
        const e = counts.get(k);
        if (e) e.n++;
        else counts.set(k, { n: 1, example: it });
      }
      const top = [...counts.values()].sort((a, b) => b.n - a.n).slice(0, 5);
      const lines = top.map((t) => `- ${t.example}${t.n > 1 ? ` (×${t.n})` : ""}`);
      return `${title}: ${items.length} item(s), ${counts.size} distinct.${lines.length ? `\n${lines.join("\n")}` : ""}`;
    },
  };
}
