import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { createOpenAIProvider } from "../../src/adapters/openai/index.js";
import { createGateway, createGatewayMetrics } from "../../src/gateway/index.js";
import type { GatewayConfig } from "../../src/gateway/index.js";
import { SimClock } from "../../src/base/testing/sim-clock.js";
import type { ModelProvider } from "../../src/ports/gateway.js";
import { startFakeOpenAI } from "../harness/fake-openai.js";
import type { FakeOpenAI } from "../harness/fake-openai.js";
import { llmConfig, metricValue, spikeWindow, uniqueWord } from "./gateway-support.js";
import { sleep } from "../../src/base/clock.js";

const MINUTE = 60_000;

/**
 * The tokens-per-minute limit of a provider against the local OpenAI-compatible test double: the
 * gateway runs on a simulated clock (rate limiter, timeouts, deadlines), the HTTP calls are real.
 * Every upstream call is logged with the simulated time it was sent and the tokens the double
 * reported; the test then checks every 60 s window.
 */
describe("gateway tokens-per-minute limit (real HTTP, simulated clock)", () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterEach(() => fake.reset());
  afterAll(async () => fake.close());

  function tpmGateway(cfg: GatewayConfig) {
    const clock = new SimClock();
    const registry = new Registry();
    const sent: Array<{ at: number; tokens: number }> = [];
    const p = createOpenAIProvider({ id: "llm", baseUrl: fake.baseUrl, apiKey: "sk-test-secret", structuredOutput: "json_schema" });
    const logged: ModelProvider = {
      ...p,
      complete: async (c) => {
        const at = clock.now();
        const r = await p.complete(c);
        sent.push({ at, tokens: r.usage.inputTokens + r.usage.outputTokens });
        return r;
      },
    };
    const gw = createGateway({ config: cfg, providers: new Map([["llm", logged]]), clock, metrics: createGatewayMetrics(registry) });
    return { gw, clock, registry, sent };
  }

  /** Advance simulated time in steps, letting real HTTP answers arrive between steps. */
  async function drive(clock: SimClock, totalMs: number, until: () => boolean): Promise<void> {
    for (let t = 0; t < totalMs && !until(); t += 1_000) {
      await clock.advance(1_000);
      await sleep(4);
    }
  }

  function maxTokensInAnyWindow(sent: ReadonlyArray<{ at: number; tokens: number }>): number {
    let max = 0;
    for (const s of sent) max = Math.max(max, sent.filter((x) => x.at > s.at - MINUTE && x.at <= s.at).reduce((a, x) => a + x.tokens, 0));
    return max;
  }

  const explainAll = (gw: ReturnType<typeof tpmGateway>["gw"], n: number) =>
    Array.from({ length: n }, (_, i) => gw.explain({ window: spikeWindow(`dev-t${i}`), score: 0.95, context: { case: uniqueWord() } }));

  it("never sends more than tokensPerMinute in any 60 s window; waiting calls are served as the window frees", async () => {
    const limit = 1_000;
    const cfg = llmConfig(fake, {
      provider: { timeout: "10m", rateLimit: { requestsPerSec: 1_000, burst: 1_000, tokensPerMinute: limit } },
      extra: { deadlines: { explain: "10m" } },
    });
    const { gw, clock, registry, sent } = tpmGateway(cfg);
    let done = 0;
    const calls = explainAll(gw, 16).map((p) => p.finally(() => done++));
    await drive(clock, 10 * MINUTE, () => done === 16);
    const results = await Promise.all(calls);
    expect(results.map((r) => r.model.degradedReason ?? r.model.provider)).toEqual(Array(16).fill("llm"));
    expect(sent).toHaveLength(16);
    // What the double saw matches what the gateway logged, and it was paced over several minutes.
    const reported = fake.requests.reduce((a, r) => a + (r.answeredTokens ?? 0), 0);
    expect(reported).toBe(sent.reduce((a, s) => a + s.tokens, 0));
    expect(reported).toBeGreaterThan(2 * limit);
    expect(maxTokensInAnyWindow(sent)).toBeLessThanOrEqual(limit);
    expect(sent.at(-1)!.at - sent[0]!.at).toBeGreaterThanOrEqual(2 * MINUTE);
    expect(await metricValue(registry, "shoal_gateway_degraded_total")).toBe(0);
    await gw.close();
  });

  it("answers locally with reason rate_limited when the wait would pass the deadline, and still never exceeds the limit", async () => {
    const limit = 1_500;
    const cfg = llmConfig(fake, {
      provider: { timeout: "10m", rateLimit: { requestsPerSec: 1_000, burst: 1_000, tokensPerMinute: limit } },
      extra: { deadlines: { explain: "30s" } },
    });
    const { gw, clock, registry, sent } = tpmGateway(cfg);
    let done = 0;
    const calls = explainAll(gw, 12).map((p) => p.finally(() => done++));
    await drive(clock, 5 * MINUTE, () => done === 12);
    const results = await Promise.all(calls);
    const remote = results.filter((r) => r.model.provider === "llm");
    const limited = results.filter((r) => r.model.degradedReason === "rate_limited");
    expect(remote.length).toBeGreaterThan(0);
    expect(limited.length).toBeGreaterThan(0);
    expect(remote.length + limited.length).toBe(12);
    expect(limited.every((r) => r.model.provider === "local" && r.model.degraded)).toBe(true);
    expect(sent).toHaveLength(remote.length);
    expect(fake.counts().chat).toBe(remote.length); // refused calls never went upstream
    expect(maxTokensInAnyWindow(sent)).toBeLessThanOrEqual(limit);
    expect(await metricValue(registry, "shoal_gateway_degraded_total", { reason: "rate_limited" })).toBe(limited.length);
    await gw.close();
  });
});
