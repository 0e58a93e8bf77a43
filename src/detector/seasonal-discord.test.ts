import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createDetector } from "./detector.js";
import { nextStepDuration, seasonalNearest } from "./seasonal-discord.js";

describe("nextStepDuration", () => {
  it("starts at the first good gap, then follows gaps slowly, ignoring bad ones", () => {
    expect(nextStepDuration(0, Number.NaN)).toBe(0);
    expect(nextStepDuration(0, -5)).toBe(0);
    expect(nextStepDuration(0, 1200)).toBe(1200);
    expect(nextStepDuration(1200, 1200)).toBe(1200);
    expect(nextStepDuration(1200, 2200)).toBeCloseTo(1250, 9);
    expect(nextStepDuration(1200, Number.POSITIVE_INFINITY)).toBe(1200);
  });
});

describe("seasonalNearest", () => {
  // Ring of 40 steps holding absolute steps 0..39: a period-10 saw-tooth.
  const hist = Float32Array.from({ length: 40 }, (_, i) => i % 10);
  const search = (q: number[], cur0: number, tolerance = 0) => seasonalNearest(hist, Float64Array.from(q), cur0, 0, cur0 - 2, 10, tolerance);

  it("finds the same phase one or more periods back", () => {
    expect(search([4, 5, 6], 34)).toBe(0);
  });

  it("does not see the same shape at another phase unless the tolerance reaches it", () => {
    // [4,5,6] exists at phase 4, but the current window starts at phase 6.
    expect(search([4, 5, 6], 36)).toBe(3 * 4);
    expect(search([4, 5, 6], 36, 2)).toBe(0);
  });

  it("is Infinity when the ring holds no full period before the current window", () => {
    expect(search([1, 2, 3], 5)).toBe(Number.POSITIVE_INFINITY);
  });

  it("equals the least full sum over every seasonal candidate, in a ring inside a larger array, wrapping or not", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 9 }),
        fc.integer({ min: 16, max: 48 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 2, max: 12 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 0, max: 200 }),
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 48, maxLength: 48 }),
        (L, H, off, period, tolerance, past, values) => {
          // The ring of H steps at `off` holds absolute steps first..cur0+L-1 (the newest H).
          const arr = new Float32Array(off + H + 3).fill(99);
          for (let i = 0; i < H; i++) arr[off + i] = values[i]!;
          const steps = H + past;
          const first = steps - H;
          const cur0 = steps - L;
          const end = cur0 - 1;
          const at = (abs: number) => arr[off + (abs % H)]!;
          const q = Float64Array.from({ length: L }, (_, j) => at(cur0 + j));
          let want = Number.POSITIVE_INFINITY;
          for (let k = 1; cur0 - k * period - tolerance >= first; k++) {
            for (let o = -tolerance; o <= tolerance; o++) {
              const st = cur0 - k * period + o;
              if (st >= end) continue;
              let d = 0;
              for (let j = 0; j < L; j++) d += (at(st + j) - q[j]!) ** 2;
              if (d < want) want = d;
            }
          }
          expect(seasonalNearest(arr, q, cur0, first, end, period, tolerance, off, H)).toBe(want);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("seasonal discord in the detector", () => {
  // Five-minute data, a two-hour plateau every morning; on day 6 it comes in the afternoon instead.
  const day = 288;
  const xs = Array.from({ length: 7 * day }, (_, i) => {
    const t = i % day;
    const d = Math.floor(i / day);
    const plateau = d === 6 ? t >= 168 && t < 192 : t >= 96 && t < 120;
    return (plateau ? 10 : 0) + (0.2 * ((i * 7919) % 13)) / 13;
  });
  const score = (params: object) => {
    const det = createDetector(params);
    return xs.map((x, i) => det.update(x, i * 300_000));
  };

  it("flags the day whose plateau moves (flat morning, plateau afternoon), which the plain discord misses", () => {
    // Every shape of day 6 was seen before (flat, plateau, edges); only their time of day is new.
    const on = score({}).slice(6 * day);
    const off = score({ seasonWeight: 0 }).slice(6 * day);
    const thr = createDetector().params.alarmScore;
    expect(Math.max(...on)).toBeGreaterThanOrEqual(thr);
    expect(Math.max(...off)).toBeLessThan(thr);
  });
});
