import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createDetector, restoreDetector } from "./detector.js";
import { DetectorStateError } from "./errors.js";
import { defaultDetectorParams, resolveDetectorParams } from "./params.js";

/** Deterministic synthetic series: daily-ish sine + noise, a spike at 1500 and a level shift at 2500. */
function series(n: number, seed = 1): number[] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  return Array.from({ length: n }, (_, i) => 50 + 10 * Math.sin((2 * Math.PI * i) / 288) + rnd() * 2 + (i === 1500 ? 40 : 0) + (i >= 2500 ? 15 : 0));
}
const run = (xs: readonly number[], params = {}) => {
  const d = createDetector(params);
  return xs.map((x, i) => d.update(x, i * 300_000));
};

describe("createDetector", () => {
  it("returns scores in [0, 1] and flags a spike and a level shift", () => {
    const xs = series(3000);
    const s = run(xs);
    for (const v of s) expect(v >= 0 && v <= 1).toBe(true);
    const thr = defaultDetectorParams.alarmScore;
    expect(Math.max(...s.slice(1500, 1508))).toBeGreaterThanOrEqual(thr);
    expect(Math.max(...s.slice(2500, 2540))).toBeGreaterThanOrEqual(thr);
  });

  it("is deterministic", () => {
    const xs = series(2000, 7);
    expect(run(xs)).toEqual(run(xs));
  });

  it("is causal: appending future points never changes past scores", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 600 }), fc.integer({ min: 1, max: 600 }), (xs, cut) => {
        const k = Math.min(cut, xs.length);
        const small = { warmup: 0, minHistory: 4, historyLength: 32, exclusionZone: 2, windowLength: 3, downsample: 2, distanceMemory: 10 };
        expect(run(xs, small).slice(0, k)).toEqual(run(xs.slice(0, k), small));
      }),
      { numRuns: 100 },
    );
  });

  it("ignores non-finite values", () => {
    const d = createDetector();
    expect(d.update(Number.NaN, 0)).toBe(0);
    expect(d.update(Number.POSITIVE_INFINITY, 0)).toBe(0);
    expect(d.count).toBe(0);
  });
});

describe("state", () => {
  it("round-trips: a restored detector continues exactly like the original", () => {
    const xs = series(3000, 3);
    const a = createDetector();
    const before = xs.slice(0, 1777).map((x, i) => a.update(x, i));
    const b = restoreDetector(a.saveState());
    expect(b.params).toEqual(a.params);
    expect(b.count).toBe(1777);
    const restA = xs.slice(1777).map((x, i) => a.update(x, i));
    const restB = xs.slice(1777).map((x, i) => b.update(x, i));
    expect(restB).toEqual(restA);
    expect(before.length).toBe(1777);
  });

  it("is bounded: at most 4 KB per metric, independent of how many points were seen", () => {
    const d = createDetector();
    const size0 = d.saveState().byteLength;
    for (const x of series(20_000)) d.update(x, 0);
    expect(d.saveState().byteLength).toBe(size0);
    expect(d.stateBytes()).toBe(size0);
    expect(size0).toBeLessThanOrEqual(4096);
    // The largest allowed history still fits the budget.
    expect(createDetector({ historyLength: 512, distanceMemory: 256 }).stateBytes()).toBeLessThanOrEqual(4096);
  });

  it("rejects bytes that are not a detector state", () => {
    expect(() => restoreDetector(new Uint8Array(10))).toThrow(DetectorStateError);
    const bytes = createDetector().saveState();
    expect(() => restoreDetector(bytes.subarray(0, bytes.length - 4))).toThrow(/must be \d+ bytes/);
    const bad = new Uint8Array(bytes);
    new Float64Array(bad.buffer, 0, 1)[0] = 1;
    expect(() => restoreDetector(bad)).toThrow(/magic/);
  });
});

describe("resolveDetectorParams", () => {
  it("fills defaults", () => {
    expect(resolveDetectorParams()).toEqual(defaultDetectorParams);
  });
  it("names the field and the rule", () => {
    expect(() => resolveDetectorParams({ windowLength: 100 })).toThrow("detector.windowLength must be an integer in [2, 64], got 100");
    expect(() => resolveDetectorParams({ scaleRate: 0 })).toThrow("detector.scaleRate must be a number in (0, 1], got 0");
    expect(() => resolveDetectorParams({ downsample: 1.5 })).toThrow("detector.downsample must be an integer in [1, 64], got 1.5");
    expect(() => resolveDetectorParams({ nope: 1 } as never)).toThrow("detector.nope is not a detector parameter");
  });
});
