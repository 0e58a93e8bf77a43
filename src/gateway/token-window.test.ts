import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { GatewayError } from "./errors.js";
import { SimClock } from "../base/testing/sim-clock.js";
import { TokenWindow } from "./token-window.js";

const W = 60_000;

describe("TokenWindow (tokens per minute)", () => {
  it("admits up to the limit at once, then waits until the oldest charge leaves the window", async () => {
    const clock = new SimClock();
    const tw = new TokenWindow({ limit: 1_000, clock });
    const t0 = clock.now();
    const at: number[] = [];
    const ps = [400, 400, 400].map((n) => tw.take(n).then(() => at.push(clock.now() - t0)));
    await clock.advance(1_000);
    expect(at).toEqual([0, 0]);
    expect(tw.charged).toBe(800);
    expect(tw.waiting).toBe(1);
    await clock.advance(W);
    await Promise.all(ps);
    expect(at).toEqual([0, 0, W]);
  });

  it("settling with the actual usage refunds the difference and lets a waiter in early", async () => {
    const clock = new SimClock();
    const tw = new TokenWindow({ limit: 1_000, clock });
    const a = await tw.take(600);
    let admitted = false;
    void tw.take(600).then(() => (admitted = true));
    await clock.advance(10);
    expect(admitted).toBe(false);
    a.settle(250); // the provider reported fewer tokens than estimated
    await clock.advance(0);
    expect(admitted).toBe(true);
    expect(tw.charged).toBe(850);
    a.settle(0); // a second settle is ignored
    expect(tw.charged).toBe(850);
  });

  it("refuses up front (nothing charged) a wait that would pass the deadline, with rate_limited and retryAfterMs", async () => {
    const clock = new SimClock();
    const tw = new TokenWindow({ limit: 1_000, clock, name: "llm" });
    await tw.take(900);
    await clock.advance(20_000);
    const err = (await tw.take(500, clock.now() + 30_000).catch((e: unknown) => e)) as GatewayError;
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.code).toBe("rate_limited");
    expect(err.retryable).toBe(true);
    expect(err.retryAfterMs).toBe(40_000);
    expect(err.message).toBe("llm: token limit: ~500 tokens would wait 40000 ms, past the deadline");
    expect(tw.charged).toBe(900);
    expect(tw.waiting).toBe(0);
  });

  it("rejects a waiter whose deadline passes while it waits (an underestimate was corrected upwards)", async () => {
    const clock = new SimClock();
    const tw = new TokenWindow({ limit: 1_000, clock });
    const t0 = clock.now();
    await tw.take(600);
    await clock.advance(10_000);
    const b = await tw.take(400);
    // Fits once the first charge leaves the window (t0 + W), before the deadline (t0 + W + 5 s)...
    const p = tw.take(500, t0 + W + 5_000).catch((e: unknown) => e as GatewayError);
    b.settle(900); // ...but the second call used 900 tokens, not 400: room only at t0 + 10 s + W.
    await clock.advance(W);
    expect(await p).toMatchObject({ code: "rate_limited", message: "token limit: deadline passed while waiting for ~500 tokens" });
    expect(clock.now() - t0).toBe(W + 10_000);
    expect(tw.waiting).toBe(0);
    // Without the correction it would have been admitted at t0 + W.
    const clock2 = new SimClock();
    const tw2 = new TokenWindow({ limit: 1_000, clock: clock2 });
    const s0 = clock2.now();
    await tw2.take(600);
    await clock2.advance(10_000);
    await tw2.take(400);
    let at = 0;
    const q = tw2.take(500, s0 + W + 5_000).then(() => (at = clock2.now() - s0));
    await clock2.advance(W);
    await q;
    expect(at).toBe(W);
  });

  it("refuses a request larger than the limit (never fits, not retryable) and a full queue", async () => {
    const clock = new SimClock();
    const tw = new TokenWindow({ limit: 100, clock, maxWaiters: 1 });
    await expect(tw.take(101)).rejects.toMatchObject({ code: "rate_limited", retryable: false, message: "a request of ~101 tokens can never fit a limit of 100 tokens per 60000 ms" });
    await tw.take(100);
    void tw.take(10).catch(() => {});
    await expect(tw.take(10)).rejects.toMatchObject({ code: "rate_limited", retryable: true, message: "tokens-per-window queue full (1 waiting)" });
  });

  it("is FIFO: a small request does not overtake a waiting large one", async () => {
    const clock = new SimClock();
    const tw = new TokenWindow({ limit: 1_000, clock });
    await tw.take(700);
    const order: string[] = [];
    const big = tw.take(600).then(() => order.push("big"));
    const small = tw.take(100).then(() => order.push("small"));
    await clock.advance(1);
    expect(order).toEqual([]);
    await clock.advance(W);
    await Promise.all([big, small]);
    expect(order).toEqual(["big", "small"]);
  });

  it("never charges more than the limit in any window (property, with corrections down)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 100, max: 5_000 }),
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 20_000 }), n: fc.integer({ min: 1, max: 100 }), actualPct: fc.integer({ min: 0, max: 100 }) }), { minLength: 1, maxLength: 60 }),
        async (limit, reqs) => {
          const clock = new SimClock();
          const tw = new TokenWindow({ limit, clock });
          const sent: Array<{ at: number; tokens: number }> = [];
          const ps: Promise<void>[] = [];
          for (const r of reqs) {
            await clock.advance(r.gap);
            const n = Math.min(limit, Math.ceil((r.n / 100) * limit));
            ps.push(
              tw.take(n).then((lease) => {
                const actual = Math.floor((n * r.actualPct) / 100);
                sent.push({ at: clock.now(), tokens: actual });
                lease.settle(actual);
              }),
            );
          }
          await clock.runAll();
          await Promise.all(ps);
          expect(sent).toHaveLength(reqs.length);
          for (const s of sent) {
            const inWindow = sent.filter((x) => x.at > s.at - W && x.at <= s.at).reduce((a, x) => a + x.tokens, 0);
            expect(inWindow).toBeLessThanOrEqual(limit);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
