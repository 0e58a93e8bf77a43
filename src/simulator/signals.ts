/**
 * Realistic sensor signals for the simulator: a daily cycle, slow drift and noise, with injected
 * anomalies (spikes, level shifts, stuck values, noise bursts). Deterministic for a seed. Each
 * reading is labelled with the injected anomaly active in it (`active`), as ground truth for
 * evaluating detection and similar-incident search.
 */

/** Small fast deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type AnomalyKind = "spike" | "level_shift" | "stuck" | "noise_burst";

/** The injected anomaly active in a generated reading (its label). */
export interface ActiveAnomaly {
  /** Number of the anomaly in its generator: 1, 2, … in injection order (unique per device). */
  readonly id: number;
  readonly kind: AnomalyKind;
  /** Index of the affected metric in the generator's signals. */
  readonly metric: number;
  /** This reading is the anomaly's first. */
  readonly onset: boolean;
}

/** One metric of one device. */
export interface SignalSpec {
  readonly name: string;
  readonly base: number;
  readonly amplitude: number;
  readonly noise: number;
  /** Cycle period in samples. */
  readonly period: number;
}

/** The metrics every simulated device reports. */
export const DEFAULT_SIGNALS: readonly SignalSpec[] = [
  { name: "temperature", base: 21, amplitude: 3, noise: 0.2, period: 288 },
  { name: "humidity", base: 45, amplitude: 8, noise: 0.8, period: 288 },
  { name: "vibration", base: 0.3, amplitude: 0.05, noise: 0.02, period: 60 },
];

/**
 * A device's signal generator: next() gives the metrics of its next sample; `active` then labels
 * it (the labels draw no random numbers: the values for a seed are those of an unlabelled run).
 */
export function createDeviceSignals(seed: number, anomalyRate: number, signals: readonly SignalSpec[] = DEFAULT_SIGNALS) {
  const rnd = prng(seed);
  const phase = rnd() * Math.PI * 2;
  let t = 0;
  let anomaly: { kind: AnomalyKind; left: number; metric: number; magnitude: number; stuckAt?: number } | undefined;
  let injected = 0;
  let active: ActiveAnomaly | undefined;
  const gauss = () => {
    // Box–Muller
    const u = Math.max(rnd(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  };
  return {
    get injected() {
      return injected;
    },
    /** The injected anomaly active in the sample next() returned last; undefined: none (or before the first). */
    get active(): ActiveAnomaly | undefined {
      return active;
    },
    next(): Record<string, number> {
      t++;
      let onset = false;
      if (anomaly === undefined && rnd() < anomalyRate) {
        const kinds: AnomalyKind[] = ["spike", "level_shift", "stuck", "noise_burst"];
        const kind = kinds[Math.floor(rnd() * kinds.length)]!;
        anomaly = { kind, left: kind === "spike" ? 1 : 10 + Math.floor(rnd() * 30), metric: Math.floor(rnd() * signals.length), magnitude: 4 + rnd() * 6 };
        injected++;
        onset = true;
      }
      const out: Record<string, number> = {};
      for (let i = 0; i < signals.length; i++) {
        const s = signals[i]!;
        let v = s.base + s.amplitude * Math.sin((2 * Math.PI * t) / s.period + phase) + s.noise * gauss();
        if (anomaly !== undefined && anomaly.metric === i) {
          const scale = Math.max(s.amplitude, s.noise * 5);
          if (anomaly.kind === "spike") v += anomaly.magnitude * scale * (rnd() < 0.5 ? -1 : 1);
          else if (anomaly.kind === "level_shift") v += anomaly.magnitude * scale * 0.5;
          else if (anomaly.kind === "stuck") v = anomaly.stuckAt ??= v;
          else v += s.noise * anomaly.magnitude * 3 * gauss();
        }
        out[s.name] = Math.round(v * 1000) / 1000;
      }
      active = anomaly === undefined ? undefined : { id: injected, kind: anomaly.kind, metric: anomaly.metric, onset };
      if (anomaly !== undefined && --anomaly.left <= 0) anomaly = undefined;
      return out;
    },
  };
}
