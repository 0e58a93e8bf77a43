import { describe, expect, it } from "vitest";
import { detectionFigures, flagsOf, holdFlags, meanOf } from "./score.js";

describe("TEP detection figures", () => {
  it("flags scores at or above the threshold", () => {
    expect([...flagsOf([0.1, 0.9, 0.95, 0.89], 0.9)]).toEqual([0, 1, 1, 0]);
  });

  it("holds each flag for `hold` samples", () => {
    expect([...holdFlags([0, 1, 0, 0, 0, 1, 0], 3)]).toEqual([0, 1, 1, 1, 0, 1, 1]);
    expect([...holdFlags([1, 0, 1], 1)]).toEqual([1, 0, 1]);
  });

  it("scores a tiny run: FDR, FAR, delay and held rates", () => {
    // 4 normal samples (one false flag), 6 faulty ones: first flag on the 2nd faulty sample, 2 flagged.
    const flags = [0, 1, 0, 0, /* onset */ 0, 1, 0, 0, 1, 0];
    const f = detectionFigures(flags, 4, 2);
    expect(f.samples).toBe(10);
    expect(f.fdr).toBeCloseTo(2 / 6, 12);
    expect(f.far).toBeCloseTo(1 / 4, 12);
    expect(f.falseFlags).toBe(1);
    expect(f.delaySamples).toBe(2);
    expect(f.detected).toBe(true);
    // Held 2: post-onset flags at 1 and 4 cover 1,2,4,5 of 6; the pre-onset flag covers 1,2 of 4.
    expect(f.heldFdr).toBeCloseTo(4 / 6, 12);
    expect(f.heldFar).toBeCloseTo(2 / 4, 12);
  });

  it("does not carry a pre-onset flag's hold into the faulty part", () => {
    const f = detectionFigures([0, 0, 1, 0, 0, 0], 3, 5);
    expect(f.heldFdr).toBe(0);
    expect(f.detected).toBe(false);
    expect(f.delaySamples).toBeUndefined();
  });

  it("treats a normal run (onset = length) as all false-alarm samples", () => {
    const f = detectionFigures([0, 1, 0, 0], 4, 1);
    expect(f.far).toBe(0.25);
    expect(f.fdr).toBeNaN();
    expect(() => detectionFigures([0, 1], 3, 1)).toThrow(RangeError);
    expect(meanOf([0.5, NaN, 1])).toBe(0.75);
  });
});
