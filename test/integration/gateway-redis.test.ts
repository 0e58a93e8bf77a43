import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGatewayRole } from "../../src/cli/gateway.command.js";
import type { GatewayRole } from "../../src/cli/gateway.command.js";
import { createGatewayClient } from "../../src/gateway/index.js";
import type { GatewayConfig } from "../../src/gateway/index.js";
import { startRedis } from "../harness/index.js";
import { startFakeOpenAI } from "../harness/fake-openai.js";
import type { FakeOpenAI } from "../harness/fake-openai.js";
import { llmConfig, metricValue, spikeWindow, uniqueWord } from "./gateway-support.js";

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
        await new Promise((res) => setTimeout(res, 100));
      }
      const hit = await c.explain({ ...req, context: { case: `${req.context.case}x` } });
      expect(hit.model.cached).toBe(true);
    });
  });
});
