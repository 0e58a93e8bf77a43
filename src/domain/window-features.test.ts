import { describe, expect, it } from "vitest";
import { cosineDistance, windowFeatures } from "./window-features.js";

const spike = (n: number, at: number, level: number, scale: number) => Array.from({ length: n }, (_, i) => level + scale * (i === at ? 10 : Math.sin(i / 3)));

describe("windowFeatures", () => {
  it("is unit length and ignores level and scale: the same shape is distance 0", () => {
    const a = windowFeatures(spike(64, 50, 20, 1))!;
    const b = windowFeatures(spike(64, 50, 1000, 7))!;
    expect(Math.hypot(...a)).toBeCloseTo(1, 5);
    expect(cosineDistance(a, b)).toBeLessThan(1e-5);
  });
  it("tells different shapes apart", () => {
    const a = windowFeatures(spike(64, 50, 20, 1))!;
    const c = windowFeatures(Array.from({ length: 64 }, (_, i) => i * 0.5))!;
    expect(cosineDistance(a, c)).toBeGreaterThan(0.3);
  });
  it("resamples windows of any length to the same dimensions", () => {
    expect(windowFeatures(spike(10, 5, 0, 1), 32)!.length).toBe(32);
    expect(windowFeatures(spike(500, 400, 0, 1), 32)!.length).toBe(32);
  });
  it("has no shape for flat or short windows", () => {
    expect(windowFeatures(Array(64).fill(5))).toBeNull();
    expect(windowFeatures([1, 2, 3])).toBeNull();
  });
});
