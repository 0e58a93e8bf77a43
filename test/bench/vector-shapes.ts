/**
 * Synthetic anomaly windows for the vector benchmark and tests: 64 readings mixing a spike, a step,
 * a drift, an oscillation, a random walk and noise with random parameters, turned into vectors by
 * the same function the device actor uses (src/domain/window-features.ts). Deterministic per seed.
 * The shapes cover a continuous family (not a few clusters), so near neighbours are close but rarely
 * identical, as real incidents are.
 */
import { ANOMALY_WINDOW_DIMENSIONS, windowFeatures } from "../../src/domain/window-features.js";

/** xorshift32: a small deterministic generator in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

const N = 64;

/** One window's readings. */
export function syntheticWindow(r: () => number): Float64Array {
  const v = new Float64Array(N);
  const spikeAt = r() * N;
  const spikeW = 0.5 + r() * 4;
  const spikeA = r() < 0.5 ? 0 : (r() * 2 - 1) * 6;
  const stepAt = r() * N;
  const stepA = r() < 0.5 ? 0 : (r() * 2 - 1) * 3;
  const slope = r() < 0.5 ? 0 : (r() * 2 - 1) * 0.1;
  const freq = r() * 0.8;
  const phase = r() * 2 * Math.PI;
  const amp = r() * 1.5;
  const noise = 0.05 + r() * 0.6;
  const walkStep = r() * 0.3;
  let walk = 0;
  for (let i = 0; i < N; i++) {
    walk += (r() - 0.5) * walkStep;
    v[i] =
      spikeA * Math.exp(-((i - spikeAt) ** 2) / (2 * spikeW * spikeW)) +
      (i >= stepAt ? stepA : 0) +
      slope * i +
      amp * Math.sin(freq * i + phase) +
      walk +
      (r() - 0.5) * noise;
  }
  return v;
}

/** A unit vector of `dims` numbers for one synthetic window (never null: noise keeps it from being flat). */
export function syntheticVector(r: () => number, dims: number = ANOMALY_WINDOW_DIMENSIONS): Float32Array {
  for (;;) {
    const f = windowFeatures(syntheticWindow(r), dims);
    if (f !== null) return f;
  }
}
