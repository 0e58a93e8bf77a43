import { describe, expect, it } from "vitest";
import type { ModelProvider } from "../ports/gateway.js";
import { gatewayConfigSchema } from "../config/schema-gateway.js";
import { RateLimitedError, UpstreamError } from "./errors.js";
import { ProviderLane } from "./provider-lane.js";
import { SimClock } from "../base/testing/sim-clock.js";

const provider: ModelProvider = {
  id: "llm",
  complete: () => Promise.reject(new Error("unused")),
  embed: () => Promise.reject(new Error("unused")),
};

function lane(tokensPerMinute: number, maxAttempts = 1) {
  const clock = new SimClock();
  const cfg = gatewayConfigSchema.parse({
    providers: { llm: { kind: "openai", rateLimit: { requestsPerSec: 1_000, burst: 1_000, tokensPerMinute }, retry: { maxAttempts, baseDelay: 10, maxDelay: 10 } } },
  }).providers.llm!;
  return { clock, lane: new ProviderLane(provider, cfg, { clock, random: () => 0.5 }) };
}

const opts = { op: "explain", model: "gpt", tokens: 500, usedTokens: (v: { used: number }) => v.used };

describe("ProviderLane tokens per minute", () => {
  it("charges the estimate, then the reported usage", async () => {
    const { lane: l } = lane(1_000);
    await l.call(async () => ({ used: 120 }), opts);
    expect(l.stats().tokensInWindow).toBe(120);
  });

  it("refunds a 429 (not processed upstream) but keeps the estimate of a 5xx (maybe processed)", async () => {
    const { lane: l } = lane(1_000);
    await expect(l.call(() => Promise.reject(new RateLimitedError("429", { status: 429 })), opts)).rejects.toMatchObject({ code: "rate_limited" });
    expect(l.stats().tokensInWindow).toBe(0);
    await expect(l.call(() => Promise.reject(new UpstreamError("500", { status: 500 })), opts)).rejects.toMatchObject({ code: "upstream" });
    expect(l.stats().tokensInWindow).toBe(500);
  });

  it("charges every attempt of a retried call", async () => {
    const { clock, lane: l } = lane(10_000, 3);
    let n = 0;
    const p = l.call(async () => {
      if (++n < 3) throw new UpstreamError("500", { status: 500 });
      return { used: 100 };
    }, opts);
    await clock.advance(1_000);
    await p;
    expect(l.stats().tokensInWindow).toBe(500 + 500 + 100);
  });

  it("is off with tokensPerMinute 0", async () => {
    const { lane: l } = lane(0);
    expect(l.tokenWindow).toBeUndefined();
    await l.call(async () => ({ used: 1e9 }), opts);
    expect(l.stats().tokensInWindow).toBe(0);
  });
});
