import { describe, expect, it } from "vitest";
import { Budget, costOf } from "./cost.js";
import { BudgetExhaustedError } from "./errors.js";
import { SimClock } from "../base/testing/sim-clock.js";

describe("cost and budget", () => {
  it("cost = tokens × price per million", () => {
    expect(costOf({ inputTokens: 1_000, outputTokens: 500 }, { inputUsdPer1M: 0.15, outputUsdPer1M: 0.6 })).toBeCloseTo(0.00045, 10);
  });

  it("reservations cannot overshoot; settling replaces them; the period rolls over", async () => {
    const clock = new SimClock(0);
    const b = new Budget({ usdPerPeriod: 1, periodMs: 1_000, clock });
    const r1 = b.reserve(0.6);
    expect(() => b.reserve(0.6)).toThrow(BudgetExhaustedError);
    r1.settle(0.1);
    const r2 = b.reserve(0.6);
    r2.settle(0.6);
    expect(b.spent).toBeCloseTo(0.7);
    expect(b.remaining).toBeCloseTo(0.3);
    expect(b.refused).toBe(1);
    await clock.advance(1_000);
    expect(b.spent).toBe(0);
    expect(() => b.reserve(1)).not.toThrow();
  });
});
