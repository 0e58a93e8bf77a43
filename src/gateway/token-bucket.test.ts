import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { SimClock } from "../base/testing/sim-clock.js";
import { TokenBucket } from "./token-bucket.js";
import { DeadlineExceededError, OverloadedError } from "./errors.js";

describe("TokenBucket", () => {
  it("admits a burst, then paces at the rate", async () => {
    const clock = new SimClock();
    const b = new TokenBucket({ ratePerSec: 10, burst: 5, clock });
    const times: number[] = [];
    const t0 = clock.now();
    const all = Array.from({ length: 15 }, () => b.take().then(() => times.push(clock.now() - t0)));
    await clock.advance(2_000);
    await Promise.all(all);
    expect(times.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    // the remaining 10 at ~100 ms spacing
    expect(times[14]).toBeGreaterThanOrEqual(1_000);
    expect(times[14]).toBeLessThanOrEqual(1_020);
  });

  it("never exceeds burst + rate·T over any window (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 20 }), fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 60 }), async (rate, burst, gaps) => {
        const clock = new SimClock();
        const b = new TokenBucket({ ratePerSec: rate, burst, clock });
        const granted: number[] = [];
        const ps: Promise<void>[] = [];
        for (const g of gaps) {
          await clock.advance(g);
          ps.push(b.take().then(() => void granted.push(clock.now())));
        }
        await clock.advance(60_000);
        await Promise.all(ps);
        for (let i = 0; i < granted.length; i++) {
          for (let j = i; j < granted.length; j++) {
            const T = (granted[j]! - granted[i]!) / 1000;
            expect(j - i + 1).toBeLessThanOrEqual(burst + rate * T + 1e-9);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it("refuses a wait that would pass the deadline, and a full queue", async () => {
    const clock = new SimClock();
    const b = new TokenBucket({ ratePerSec: 1, burst: 1, clock, maxWaiters: 1 });
    await b.take();
    await expect(b.take(1, clock.now() + 100)).rejects.toBeInstanceOf(DeadlineExceededError);
    const p = b.take();
    await expect(b.take()).rejects.toBeInstanceOf(OverloadedError);
    await clock.advance(1_100);
    await p;
  });

  it("aborting a waiter frees its place", async () => {
    const clock = new SimClock();
    const b = new TokenBucket({ ratePerSec: 1, burst: 1, clock });
    await b.take();
    const ac = new AbortController();
    const p = b.take(1, undefined, ac.signal);
    ac.abort(new Error("gone"));
    await expect(p).rejects.toThrow("gone");
    expect(b.waiting).toBe(0);
  });
});
