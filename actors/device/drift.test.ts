/**
 * Issue 19 through the device actor (createOfflineDevice: the platform's own scoring): slow drift
 * does not alarm, a step does, and a new device's normal start-up does not alarm.
 */
import { describe, expect, it } from "vitest";
import { createOfflineDevice } from "./offline-device.js";
import type { OfflineScore } from "./offline-device.js";
import { defaultDeviceSettings } from "./device.messages.js";
import { lcgGaussian } from "../../test/support/seeded-noise.js";

const T0 = 1_700_000_000_000;
const THRESHOLD = defaultDeviceSettings.threshold;

/** Feeds `n` readings at 1 Hz to a new device; metrics(i) gives reading i's values. */
function feed(n: number, metrics: (i: number) => Record<string, number>): OfflineScore[] {
  const dev = createOfflineDevice("dev-1");
  return Array.from({ length: n }, (_, i) => dev.feed({ seq: i + 1, tsMs: T0 + i * 1000, metrics: metrics(i) }));
}

const HOUR = 3600;

describe("device: drift is not an anomaly", () => {
  it("two sensors, one drifting up 5σ per hour and one down: no anomaly in 2 hours", () => {
    const a = lcgGaussian(3);
    const b = lcgGaussian(4);
    const out = feed(2 * HOUR, (i) => ({ temp: 40 + 0.5 * ((5 * i) / HOUR + a()), coolant: 12 + 0.05 * ((-5 * i) / HOUR + b()) }));
    expect(out.filter((r) => r.anomaly !== undefined).length).toBe(0);
    expect(Math.max(...out.map((r) => r.score))).toBeLessThan(THRESHOLD);
  });

  it("a 3σ step of one sensor while the other drifts: an anomaly of that sensor within a minute", () => {
    const a = lcgGaussian(5);
    const b = lcgGaussian(6);
    const at = HOUR;
    const out = feed(at + 300, (i) => ({ temp: 40 + 0.5 * ((5 * i) / HOUR + a()), pressure: 3 + 0.02 * ((i >= at ? 3 : 0) + b()) }));
    expect(out.slice(0, at).filter((r) => r.anomaly !== undefined).length).toBe(0);
    const first = out.slice(at).findIndex((r) => r.anomaly !== undefined);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(first).toBeLessThan(60);
    expect(out[at + first]!.anomaly!.metric).toBe("pressure");
  });
});

describe("device: warm-up", () => {
  // Normal start-ups of a new device (1 Hz): noise, a sine with noise, a random walk.
  const startup = (kind: number, seed: number): ((i: number) => number) => {
    const g = lcgGaussian(seed * 7919 + 17);
    const sigma = 0.1 + (seed % 5) * 0.3;
    const period = 60 + (seed % 9) * 60;
    let walk = 20;
    return (i) => {
      if (kind === 0) return 20 + sigma * g();
      if (kind === 1) return 20 + 3 * sigma * Math.sin((2 * Math.PI * i) / period) + sigma * g();
      walk += sigma * g();
      return walk;
    };
  };

  it.each([
    ["noise", 0],
    ["sine + noise", 1],
    ["random walk", 2],
  ] as const)("%s: no alarm once the detector scores (readings 101–300), few before (30 start-ups)", (_name, kind) => {
    let early = 0;
    let late = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const f = startup(kind, seed);
      const out = feed(300, (i) => ({ m: f(i) }));
      out.forEach((r, i) => {
        if (r.score >= THRESHOLD) {
          if (i < 100) early++;
          else late++;
        }
      });
    }
    expect(late).toBe(0);
    // The device's own warm-up fallback (rolling z ≥ 0.9999) may still flag a few of the first 100.
    expect(early).toBeLessThanOrEqual(20);
  });
});
