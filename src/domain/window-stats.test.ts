import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { robustLastZ, windowStats } from "./window-stats.js";

describe("window stats", () => {
  it("robustLastZ (scratch, insertion sort) equals windowStats.lastZ, also for long windows", () => {
    const a = new Float64Array(300);
    const b = new Float64Array(300);
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 300 }), (values) => {
        const z = robustLastZ(values, a, b);
        expect(z).toBeCloseTo(windowStats(values).lastZ, 6);
      }),
      { numRuns: 300 },
    );
  });

  it("median/MAD of the reference, last value judged against it", () => {
    const s = windowStats([1, 2, 3, 4, 5, 100]);
    expect(s.median).toBe(3);
    expect(s.mad).toBeCloseTo(1.4826, 6);
    expect(s.lastZ).toBeCloseTo(97 / 1.4826, 6);
    expect(windowStats([5, 5, 5, 5]).lastZ).toBe(0);
  });
});
