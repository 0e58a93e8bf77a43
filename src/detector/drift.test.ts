/**
 * Issue 19, "drift is not an anomaly": at the reading-score level (1 Hz timestamps, Gaussian noise
 * σ), a slow ramp of 5σ per hour never reaches the device's alarm threshold (0.9) after warm-up,
 * a step of 3σ does soon after it happens, and neither pure noise nor the ramp alarms.
 */
import { describe, expect, it } from "vitest";
import { createDetector } from "./detector.js";
import type { DetectorParams } from "./params.js";
import { lcgGaussian } from "../../test/support/seeded-noise.js";

/** The device actor's default alarm threshold (actors/device settings `threshold`). */
const DEVICE_THRESHOLD = 0.9;
const T0 = 1_700_000_000_000;

/** Scores of `n` readings, one per second, value(i) at reading i. */
function scores(n: number, value: (i: number) => number, params: Partial<DetectorParams> = {}): number[] {
  const d = createDetector(params);
  return Array.from({ length: n }, (_, i) => d.update(value(i), T0 + i * 1000));
}

// Offsets and noise levels of different scales: the detector is scale-free.
const CASES = [
  { seed: 11, offset: 0, sigma: 1, dir: 1 },
  { seed: 23, offset: 1000, sigma: 0.01, dir: -1 },
  { seed: 37, offset: -5, sigma: 3, dir: 1 },
  { seed: 41, offset: 20.5, sigma: 0.2, dir: -1 },
];
const HOUR = 3600;
const WARMUP = 100;

describe("drift is not an anomaly (1 Hz, Gaussian noise σ)", () => {
  it.each(CASES)("a ramp of 5σ per hour raises no score ≥ 0.9 in 3 hours (seed $seed, σ $sigma)", ({ seed, offset, sigma, dir }) => {
    const g = lcgGaussian(seed);
    const s = scores(3 * HOUR, (i) => offset + sigma * ((dir * 5 * i) / HOUR + g()));
    const alarms = s.slice(WARMUP).filter((v) => v >= DEVICE_THRESHOLD).length;
    expect(alarms).toBe(0);
  });

  it.each(CASES)("a step of 3σ after 40 minutes of noise scores ≥ 0.9 within a minute (seed $seed, σ $sigma)", ({ seed, offset, sigma, dir }) => {
    const g = lcgGaussian(seed);
    const at = 40 * 60;
    const s = scores(at + 600, (i) => offset + sigma * ((i >= at ? 3 * dir : 0) + g()));
    expect(s.slice(WARMUP, at).filter((v) => v >= DEVICE_THRESHOLD).length).toBe(0);
    const first = s.slice(at).findIndex((v) => v >= DEVICE_THRESHOLD);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(first).toBeLessThan(60);
  });

  it("without the drift gate the same ramp does alarm (what the gate fixes)", () => {
    const g = lcgGaussian(11);
    const s = scores(3 * HOUR, (i) => (5 * i) / HOUR + g(), { driftRate: 0, levelBar: 0 });
    expect(s.slice(WARMUP).filter((v) => v >= DEVICE_THRESHOLD).length).toBeGreaterThan(0);
  });

  it("a spike far beyond the drifting range still alarms during the ramp", () => {
    const g = lcgGaussian(5);
    const at = 2 * HOUR;
    const s = scores(at + 10, (i) => (5 * i) / HOUR + g() + (i === at ? 12 : 0));
    expect(s[at]).toBe(1);
  });
});
