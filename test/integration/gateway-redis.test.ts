import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGatewayRole } from "../../src/cli/gateway.command.js";
import type { GatewayRole } from "../../src/cli/gateway.command.js";
import { createGatewayClient } from "../../src/gateway/index.js";
import type { GatewayConfig } from "../../src/gateway/index.js";
import { startRedis } from "../harness/index.js";
import { startFakeOpenAI } from "../harness/fake-openai.js";
import type { FakeOpenAI } from "../harness/fake-openai.js";
import { llmConfig, metricValue, spikeWindow, uniqueWord } from "./gateway-support.js";
import { sleep } from "../../src/base/clock.js";

type Redis = Awaited<ReturnType<typeof startRedis>>;

/** The pattern cache in a real Redis: answers survive a gateway restart; a Redis outage only costs hits. */
describe("gateway cache in Redis", () => {
  let redis: Redis;
  let fake: FakeOpenAI;
  let cfg: GatewayConfig;

  beforeAll(async () => {
    redis = await startRedis();
    fake = await startFakeOpenAI();
    cfg = llmConfig(fake, { extra: { cache: { redisUrl: redis.url, opTimeout: 200 }, listen: { port: 0 } } });
  });
  afterAll(async () => {
    await fake?.close();
    await redis?.cleanup();
  });

  async function withRole<T>(fn: (role: GatewayRole, call: ReturnType<typeof createGatewayClient>) => Promise<T>): Promise<T> {
    const role = await startGatewayRole(cfg, { env: {} });
    const client = createGatewayClient({ address: role.address });
    try {
      return await fn(role, client);
    } finally {
      client.close();
      await role.close();
    }
  }

  it("serves cache hits from Redis after a gateway restart", async () => {
    const req = { window: spikeWindow("dev-r1"), score: 0.96, context: { case: uniqueWord() } };
    const first = await withRole(async (_r, c) => {
      const a = await c.explain(req);
      const b = await c.explain(req);
      expect(b.model.cached).toBe(true);
      return a;
    });
    expect(first.model).toMatchObject({ provider: "llm", cached: false });
    expect(fake.counts().chat).toBe(1);

    // A new gateway (new process state, empty memory): the answer comes from Redis.
    await withRole(async (role, c) => {
      const again = await c.explain({ ...req, window: spikeWindow("dev-r2") });
      expect(again.model).toMatchObject({ provider: "llm", model: "gpt", promptVersion: "explain@v1", cached: true, costUsd: 0 });
      expect(again.summary).toBe(first.summary);
      expect(await metricValue(role.registry, "shoal_gateway_cache_hits_total", { op: "explain" })).toBe(1);
    });
    expect(fake.counts().chat).toBe(1);
  });

  it("keeps answering while Redis is down (misses, counted) and caches again after it returns", async () => {
    await withRole(async (role, c) => {
      await redis.kill();
      const req = { window: spikeWindow("dev-r3"), score: 0.96, context: { case: uniqueWord() } };
      const t0 = Date.now();
      const a = await c.explain(req);
      expect(a.model).toMatchObject({ provider: "llm", cached: false });
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect(await metricValue(role.registry, "shoal_gateway_cache_errors_total")).toBeGreaterThan(0);
      await redis.restart();
      // Give the client a moment to reconnect.
      for (let i = 0; i < 50; i++) {
        const r = await c.explain({ ...req, context: { case: `${req.context.case}x` } });
        if (r.model.cached) break;
        await sleep(100);
      }
      const hit = await c.explain({ ...req, context: { case: `${req.context.case}x` } });
      expect(hit.model.cached).toBe(true);
    });
  });
  it("shares the budget's spend between gateway replicas: a budget spent through one refuses the other", async () => {
    const shared = llmConfig(fake, { budget: { usdPerPeriod: 0.0005 }, extra: { cache: { redisUrl: redis.url, opTimeout: 200, namespace: `budget-${uniqueWord()}` }, listen: { port: 0 } } });
    const a = await startGatewayRole(shared, { env: {} });
    const b = await startGatewayRole(shared, { env: {} });
    try {
      const ask = (role: GatewayRole) => role.gateway.explain({ window: spikeWindow("dev-b"), score: 0.96, context: { case: uniqueWord() } });
      let spentA = 0;
      let answered = 0;
      for (let i = 0; i < 50; i++) {
        const r = await ask(a);
        if (r.model.degradedReason === "budget") break;
        expect(r.model.provider).toBe("llm");
        spentA += r.model.costUsd;
        answered++;
      }
      expect(answered).toBeGreaterThan(0);
      expect(answered).toBeLessThan(50);
      // b never spent anything itself; the shared total in Redis refuses it.
      const rb = await ask(b);
      expect(rb.model).toMatchObject({ provider: "local", degraded: true, degradedReason: "budget" });
      expect(b.gateway.stats().budget.spentUsd).toBeCloseTo(spentA, 9);
      expect(b.gateway.stats().budget.refused).toBe(1);
      expect(spentA).toBeLessThanOrEqual(0.0005);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("concurrent calls through two replicas never spend more than the budget together", async () => {
    const budget = 0.001;
    const shared = llmConfig(fake, { budget: { usdPerPeriod: budget }, extra: { cache: { redisUrl: redis.url, opTimeout: 1_000, namespace: `budget-${uniqueWord()}` }, listen: { port: 0 } } });
    const a = await startGatewayRole(shared, { env: {} });
    const b = await startGatewayRole(shared, { env: {} });
    try {
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).gateway.explain({ window: spikeWindow(`dev-c${i}`), score: 0.96, context: { case: uniqueWord() } })),
      );
      const remote = results.filter((r) => r.model.provider === "llm");
      const spent = remote.reduce((s, r) => s + r.model.costUsd, 0);
      expect(remote.length).toBeGreaterThan(0);
      expect(results.filter((r) => r.model.degradedReason === "budget").length).toBeGreaterThan(0);
      expect(spent).toBeLessThanOrEqual(budget);
      // A replica sees the shared total (both replicas' spend) on its next contact with Redis.
      await sleep(100);
      const last = await a.gateway.explain({ window: spikeWindow("dev-c"), score: 0.96, context: { case: uniqueWord() } });
      await sleep(100); // its settlement reached Redis
      const total = spent + last.model.costUsd;
      expect(total).toBeLessThanOrEqual(budget);
      // The shared total is what both spent (more only if a reservation was still being backed out
      // after a slow Redis write, which errs on the safe side), never above the budget.
      expect(a.gateway.stats().budget.spentUsd).toBeGreaterThanOrEqual(total - 1e-9);
      expect(a.gateway.stats().budget.spentUsd).toBeLessThanOrEqual(budget);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
