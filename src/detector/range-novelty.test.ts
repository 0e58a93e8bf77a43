import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createDetector } from "./detector.js";
import { contractRange, DRIFT_SLOTS, driftGate, emptyRange, extendRange, GATE_OPEN, GATE_SHUT, GATE_WEAK, isOutsideRange, LEVEL_SHIFT } from "./range-novelty.js";
import { defaultDetectorParams } from "./params.js";

describe("range novelty", () => {
  it("needs a range of positive width, then flags values beyond it by more than the tolerance", () => {
    const r = emptyRange();
    expect(isOutsideRange(r, 5, 0.1)).toBe(false);
    extendRange(r, 10);
    expect(isOutsideRange(r, 1e9, 0.1)).toBe(false); // a single value gives no scale
    extendRange(r, 20);
    expect(r).toEqual({ min: 10, max: 20 });
    expect(isOutsideRange(r, 21, 0.1)).toBe(false); // within 10 % of the width
    expect(isOutsideRange(r, 21.5, 0.1)).toBe(true);
    expect(isOutsideRange(r, 8.5, 0.1)).toBe(true);
    expect(isOutsideRange(r, 15, 0)).toBe(false);
  });

  it("shrinks toward its middle by the given fraction of its width, and not at all at rate 0 or when empty", () => {
    const r = { min: 0, max: 100 };
    contractRange(r, 0.1);
    expect(r).toEqual({ min: 5, max: 95 });
    contractRange(r, 0);
    expect(r).toEqual({ min: 5, max: 95 });
    const e = emptyRange();
    contractRange(e, 0.5);
    expect(e).toEqual(emptyRange());
    // A one-off extreme is forgotten: after enough points a smaller excursion is novel again.
    const s = { min: 0, max: 1000 };
    for (let i = 0; i < 200_000; i++) {
      extendRange(s, i % 2);
      contractRange(s, 1e-5);
    }
    expect(isOutsideRange(s, 500, 0.04)).toBe(true);
  });

  it("never flags a value inside the range seen so far", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e9, max: 1e9, noNaN: true }), { minLength: 1, maxLength: 50 }), fc.double({ min: 0, max: 1, noNaN: true }), (xs, t) => {
        const r = emptyRange();
        for (const x of xs) extendRange(r, x);
        for (const x of xs) expect(isOutsideRange(r, x, t)).toBe(false);
      }),
    );
  });

  it("makes the detector score a first-ever extreme far from the level at rangeScore, and rangeScore 0 disables it", () => {
    // A slow sine: every subsequence has close neighbours, so only the range can flag the excursion.
    const xs = Array.from({ length: 1200 }, (_, i) => Math.sin((2 * Math.PI * i) / 100) + (i === 1101 ? 10 : 0));
    const on = createDetector();
    const off = createDetector({ rangeScore: 0, rangeWeakScore: 0, levelBar: 0 });
    const sOn = xs.map((x, i) => on.update(x, i));
    const sOff = xs.map((x, i) => off.update(x, i));
    expect(sOn[1101]).toBe(1);
    expect(sOff[1101]).toBeLessThan(on.params.alarmScore);
  });

  it("scores a new extreme of settled data that is near its level as a weak range novelty (above alarmScore, below 1)", () => {
    // The sine's own swing is ±1: 1.5 above its crest is new but only a few deviations from the level.
    const xs = Array.from({ length: 1200 }, (_, i) => Math.sin((2 * Math.PI * i) / 100) + (i === 1101 ? 1.5 : 0));
    const d = createDetector();
    const s = xs.map((x, i) => d.update(x, i));
    expect(s[1101]).toBe(d.params.rangeWeakScore);
    expect(s[1101]).toBeGreaterThanOrEqual(d.params.alarmScore);
    // Without the drift gate it is a full range novelty, as before it existed.
    const plain = createDetector({ driftRate: 0 });
    expect(xs.map((x, i) => plain.update(x, i))[1101]).toBe(1);
  });
});

describe("driftGate", () => {
  /** Feeds xs to a fresh gate; returns its verdict for each. */
  const verdicts = (xs: readonly number[], params = {}) => {
    const p = { ...defaultDetectorParams, ...params };
    const f64 = new Float64Array(DRIFT_SLOTS);
    return xs.map((x) => driftGate(f64, 0, x, p));
  };
  // Deterministic noise in [-1, 1] (no Math.random in tests that must not flake).
  const noise = (i: number) => (((i * 7919) % 1009) / 1009) * 2 - 1;

  it("is shut while the range is young, then weak on settled data, open far from the level", () => {
    const xs = Array.from({ length: 2000 }, (_, i) => noise(i) + (i === 1500 ? 50 : 0));
    const v = verdicts(xs);
    // Young: never weak (a young range's new extremes are mostly noise); only far readings open it.
    expect(v.slice(0, defaultDetectorParams.driftHold).some((g) => (g & 3) === GATE_WEAK)).toBe(false);
    expect(v.slice(0, defaultDetectorParams.driftHold).filter((g) => (g & 3) === GATE_SHUT).length).toBeGreaterThan(defaultDetectorParams.driftHold * 0.95);
    expect(v[1400]! & 3).toBe(GATE_WEAK);
    expect(v[1500]! & 3).toBe(GATE_OPEN);
  });

  it("shuts on a slow drift (the fast level pulls away from the slow one) but opens on a step", () => {
    const ramp = verdicts(Array.from({ length: 6000 }, (_, i) => noise(i) + (i > 1000 ? (i - 1000) * 0.003 : 0)));
    expect(ramp.slice(3000).every((g) => (g & 3) === GATE_SHUT)).toBe(true);
    const step = verdicts(Array.from({ length: 3000 }, (_, i) => noise(i) + (i >= 2000 ? 20 : 0)));
    expect(step[2000]! & 3).toBe(GATE_OPEN);
  });

  it("flags a level shift once, after it held levelPersist readings beyond its own range", () => {
    const p = defaultDetectorParams;
    // A step of twice the noise's full swing: no reading is wild, but the short mean leaves its range.
    const v = verdicts(Array.from({ length: 3000 }, (_, i) => noise(i) + (i >= 2000 ? 2.5 : 0)));
    const shifts = v.map((g, i) => ((g & LEVEL_SHIFT) !== 0 ? i : -1)).filter((i) => i >= 0);
    expect(shifts.length).toBe(1);
    expect(shifts[0]!).toBeGreaterThanOrEqual(2000 + p.levelPersist - 1);
    expect(shifts[0]!).toBeLessThan(2000 + 4 * p.levelPersist);
    expect(verdicts(Array.from({ length: 3000 }, (_, i) => noise(i) + (i >= 2000 ? 2.5 : 0)), { levelBar: 0 }).some((g) => (g & LEVEL_SHIFT) !== 0)).toBe(false);
  });
});
