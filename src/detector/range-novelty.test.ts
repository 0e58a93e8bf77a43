import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createDetector } from "./detector.js";
import { contractRange, emptyRange, extendRange, isOutsideRange } from "./range-novelty.js";

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

  it("makes the detector score a first-ever extreme at rangeScore, and rangeScore 0 disables it", () => {
    // A slow sine: every subsequence has close neighbours, so only the range can flag the excursion.
    const xs = Array.from({ length: 1200 }, (_, i) => Math.sin((2 * Math.PI * i) / 100) + (i === 1101 ? 1.5 : 0));
    const on = createDetector();
    const off = createDetector({ rangeScore: 0 });
    const sOn = xs.map((x, i) => on.update(x, i));
    const sOff = xs.map((x, i) => off.update(x, i));
    expect(sOn[1101]).toBe(1);
    expect(sOff[1101]).toBeLessThan(on.params.alarmScore);
  });
});
