import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ReadModel, SeriesPoint, SeriesQuery } from "../ports/read-model.js";
import { readSeries } from "./list-readings.js";
import { chooseResolution } from "./resolution.js";

const DAY = 86_400_000;

/** A read model whose series tags its one point with the query it answered. */
function fakeReadModel(rawCount: number, failSpeculative = false) {
  const asked: SeriesQuery[] = [];
  const rm = {
    countReadings: async () => rawCount,
    series: async (q: SeriesQuery): Promise<SeriesPoint[]> => {
      asked.push(q);
      if (failSpeculative && q.tier !== "raw") throw new Error("rollup read failed");
      return [{ tsMs: q.bucketMs, value: q.limit, min: 0, max: 0, count: q.tier === "raw" ? 1 : 2, sumSq: 0, score: 0, epoch: 0, seq: 0 }];
    },
  } as unknown as ReadModel;
  return { rm, asked };
}

describe("readSeries", () => {
  it("answers as count-then-series would, for any range, maxPoints and count", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 400 * DAY }), fc.integer({ min: 1, max: 400 * DAY }), fc.integer({ min: 1, max: 10_000 }), fc.nat(50_000_000), async (from, len, maxPoints, raw) => {
        const { rm, asked } = fakeReadModel(raw);
        const got = await readSeries(rm, { deviceId: "d", metric: "t", fromMs: from, toMs: from + len, maxPoints }, undefined);
        const want = chooseResolution(from, from + len, maxPoints, raw);
        expect(got.resolution).toEqual(want);
        expect(got.points).toEqual([{ tsMs: want.bucketMs, value: maxPoints, min: 0, max: 0, count: want.tier === "raw" ? 1 : 2, sumSq: 0, score: 0, epoch: 0, seq: 0 }]);
        expect(asked.at(-1)).toEqual({ deviceId: "d", metric: "t", fromMs: from, toMs: from + len, tier: want.tier, bucketMs: want.bucketMs, limit: maxPoints });
      }),
      { numRuns: 300 },
    );
  });

  it("reads the rollup once, alongside the count, when the readings do not fit", async () => {
    const { rm, asked } = fakeReadModel(2_592_000);
    const got = await readSeries(rm, { deviceId: "d", metric: "t", fromMs: 0, toMs: 30 * DAY, maxPoints: 1000 }, undefined);
    expect(got.resolution).toEqual({ tier: "1m", bucketMs: 44 * 60_000 });
    expect(asked).toHaveLength(1);
  });

  it("counts first on a range shorter than maxPoints minutes: one series read, the raw one", async () => {
    const { rm, asked } = fakeReadModel(600);
    const got = await readSeries(rm, { deviceId: "d", metric: "t", fromMs: 0, toMs: 3_600_000, maxPoints: 1000 }, undefined);
    expect(got.resolution).toEqual({ tier: "raw", bucketMs: 0 });
    expect(asked.map((q) => q.tier)).toEqual(["raw"]);
  });

  it("serves raw when a failed speculative rollup read turns out unneeded", async () => {
    const { rm } = fakeReadModel(10, true);
    const got = await readSeries(rm, { deviceId: "d", metric: "t", fromMs: 0, toMs: DAY, maxPoints: 1000 }, undefined);
    expect(got.resolution).toEqual({ tier: "raw", bucketMs: 0 });
  });

  it("fails as the rollup read failed when it is the answer", async () => {
    const { rm } = fakeReadModel(1_000_000, true);
    await expect(readSeries(rm, { deviceId: "d", metric: "t", fromMs: 0, toMs: DAY, maxPoints: 1000 }, undefined)).rejects.toThrow("rollup read failed");
  });
});
