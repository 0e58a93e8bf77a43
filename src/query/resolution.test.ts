import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bucketsIn, chooseResolution } from "./resolution.js";

const DAY = 86_400_000;

describe("chooseResolution", () => {
  it("serves raw readings when they fit", () => {
    expect(chooseResolution(0, DAY, 1000, 1000)).toEqual({ tier: "raw", bucketMs: 0 });
  });
  it("serves a month at 1000 points from the 1-minute rollup in 44-minute buckets", () => {
    expect(chooseResolution(0, 30 * DAY, 1000, 2_592_000)).toEqual({ tier: "1m", bucketMs: 44 * 60_000 });
  });
  it("serves a year from the hourly rollup", () => {
    expect(chooseResolution(0, 365 * DAY, 1000, 31_536_000)).toEqual({ tier: "1h", bucketMs: 9 * 3_600_000 });
  });
  it("never returns more than maxPoints buckets (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 946_684_800_000, max: 4_000_000_000_000 }), fc.integer({ min: 1, max: 5 * 365 * DAY }), fc.integer({ min: 2, max: 10_000 }), (from, span, maxPoints) => {
        const r = chooseResolution(from, from + span, maxPoints, Number.MAX_SAFE_INTEGER);
        expect(r.tier).not.toBe("raw");
        expect(bucketsIn(from, from + span, r.bucketMs)).toBeLessThanOrEqual(maxPoints);
        expect(r.bucketMs % (r.tier === "1m" ? 60_000 : 3_600_000)).toBe(0);
      }),
      { numRuns: 2000 },
    );
  });
});
