import { describe, expect, it } from "vitest";
import { RateLimitedError, UpstreamError, InvalidRequestError } from "./errors.js";
import { backoffDelay, retry } from "./retry.js";
import { SimClock } from "../base/testing/sim-clock.js";

const policy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 5_000 };

describe("retry", () => {
  it("full jitter within [0, base·2^(n-1)]", () => {
    expect(backoffDelay(policy, 1, () => 0.999)).toBeLessThan(100);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(200);
    expect(backoffDelay(policy, 10, () => 1)).toBe(5_000);
  });

  it("honours Retry-After as a floor (capped by maxDelayMs)", () => {
    expect(backoffDelay(policy, 1, () => 0, 2_000)).toBe(2_000);
    expect(backoffDelay(policy, 1, () => 0.5, 2_000)).toBe(2_050);
    expect(backoffDelay(policy, 1, () => 0, 60_000)).toBe(5_000);
  });

  it("retries 429 after Retry-After and 5xx with backoff, then succeeds", async () => {
    const clock = new SimClock();
    const at: number[] = [];
    const t0 = clock.now();
    const p = retry(
      async (n) => {
        at.push(clock.now() - t0);
        if (n === 1) throw new RateLimitedError("429", { retryAfterMs: 1_000 });
        if (n === 2) throw new UpstreamError("500");
        return "ok";
      },
      policy,
      { clock, random: () => 0.5 },
    );
    await clock.advance(10_000);
    await expect(p).resolves.toEqual({ value: "ok", attempts: 3 });
    expect(at).toEqual([0, 1_050, 1_150]);
  });

  it("does not retry non-retryable errors, stops at maxAttempts, and respects the deadline", async () => {
    const clock = new SimClock();
    let n = 0;
    await expect(retry(async () => { n++; throw new InvalidRequestError("bad"); }, policy, { clock, random: () => 0 })).rejects.toThrow("bad");
    expect(n).toBe(1);

    n = 0;
    const p = retry(async () => { n++; throw new UpstreamError("500"); }, policy, { clock, random: () => 0 });
    await clock.advance(1_000);
    await expect(p).rejects.toMatchObject({ code: "upstream", attempts: 4 });
    expect(n).toBe(4);

    n = 0;
    const q = retry(async () => { n++; throw new RateLimitedError("429", { retryAfterMs: 5_000 }); }, policy, { clock, random: () => 0, deadlineMs: clock.now() + 1_000 });
    await clock.advance(10_000);
    await expect(q).rejects.toMatchObject({ code: "rate_limited" });
    expect(n).toBe(1);
  });
});
