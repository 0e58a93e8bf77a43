import { describe, expect, it } from "vitest";
import { sparklinePath } from "./sparkline-path.js";

describe("sparklinePath", () => {
  it("scales points into the box with y from 0", () => {
    expect(sparklinePath([0, 10], [0, 4], 100, 20, 0)).toBe("M0.0,20.0L100.0,0.0");
    expect(sparklinePath([0, 5, 10], [2, 2, 2], 10, 10, 0)).toBe("M0.0,0.0L5.0,0.0L10.0,0.0");
  });

  it("draws nothing for fewer than two points and a flat zero line at the bottom", () => {
    expect(sparklinePath([1], [1], 10, 10)).toBe("");
    expect(sparklinePath([0, 1], [0, 0], 10, 10, 0)).toBe("M0.0,10.0L10.0,10.0");
    expect(sparklinePath([0, 1], [Number.NaN, 1], 10, 10, 0)).toBe("M0.0,10.0L10.0,0.0");
  });
});
