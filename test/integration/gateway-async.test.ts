import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AsyncGatewayCaller, createGatewayClient, startGatewayServer } from "../../src/gateway/index.js";
import type { GatewayClient, GatewayServer } from "../../src/gateway/index.js";
import { createLocalModels } from "../../src/gateway/providers/local.js";
import type { ExplainResult } from "../../src/ports/gateway.js";
import { startFakeOpenAI } from "../harness/fake-openai.js";
import type { FakeOpenAI } from "../harness/fake-openai.js";
import { llmConfig, llmGateway, uniqueWord } from "./gateway-support.js";
import { sleep } from "../../src/base/clock.js";

/**
 * Device actors call the gateway asynchronously: a slow LLM must not hold up the stream of
 * readings. A synthetic ingest loop (per reading: a detector-sized computation; every 500th reading
 * an anomaly never seen before that asks the gateway for an explanation over gRPC through the
 * AsyncGatewayCaller) runs while the LLM double holds every request open.
 */
describe("async gateway calls do not slow ingest", () => {
  let fake: FakeOpenAI;
  let server: GatewayServer;
  let client: GatewayClient;
  let close: () => Promise<void>;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    const cfg = llmConfig(fake, { provider: { timeout: 10_000, maxConcurrency: 512, maxQueue: 10_000, rateLimit: { requestsPerSec: 10_000, burst: 10_000 } } });
    const { gw } = llmGateway(fake, cfg);
    server = await startGatewayServer(gw, { port: 0 });
    client = createGatewayClient({ address: server.address });
    await client.waitForReady();
    close = async () => {
      client.close();
      await server.close();
      await gw.close();
      await fake.close();
    };
  });
  afterAll(async () => close());

  const local = createLocalModels();

  /** Process `n` readings in pump-sized batches; returns readings/s and the replies collected. */
  async function ingest(n: number, caller: AsyncGatewayCaller) {
    const replies: ExplainResult[] = [];
    let firstReplyMs = Infinity;
    const values = Array.from({ length: 32 }, (_, i) => 20 + Math.sin(i / 3));
    const t0 = performance.now();
    let submitted = 0;
    for (let i = 0; i < n; i += 500) {
      for (let k = i; k < Math.min(n, i + 500); k++) {
        values[31] = k % 500 === 0 ? 60 : 20 + Math.sin(k / 3);
        const score = local.score({ deviceId: "d", metric: "m", values });
        if (score > 0.9) {
          submitted++;
          const window = { deviceId: `dev-${k % 97}`, metric: "temp", values: [...values] };
          caller.submit({ op: "explain", req: { window, score: 0.95, context: { case: uniqueWord() } } }, (err, res) => {
            if (!err && res) replies.push(res);
            firstReplyMs = Math.min(firstReplyMs, performance.now() - t0);
          });
        }
      }
      await new Promise((r) => setImmediate(r)); // a pump yields between batches
    }
    const rate = n / ((performance.now() - t0) / 1000);
    return { rate, submitted, replies, loopMs: performance.now() - t0, firstReplyMs: () => firstReplyMs };
  }

  it("the ingest loop runs to the end while every LLM call is still unanswered; the replies arrive afterwards as messages", async () => {
    // No timing here: the double holds every request open until released, so the loop can only
    // finish if it never waits for a reply. (Throughput with a 2 s provider vs an instant one is
    // measured by `npm run bench:llm-latency`.)
    const n = 100_000;
    const caller = new AsyncGatewayCaller({ gateway: client, maxInFlight: 512, maxQueue: 10_000 });
    fake.setDefault({ kind: "hold" });
    try {
      const run = await ingest(n, caller);
      expect(run.submitted).toBe(n / 500);
      expect(run.replies).toHaveLength(0);
      expect(caller.stats().inFlight).toBeGreaterThan(0);
      await waitUntil(() => fake.held() === run.submitted, 10_000, "every explain call to reach the LLM double");
      expect(fake.answered()).toBe(0);
      fake.setDefault({ kind: "ok" });
      expect(fake.release()).toBe(run.submitted);
      await caller.drain();
      expect(run.replies).toHaveLength(run.submitted);
      expect(run.replies.every((r) => r.model.provider === "llm" && !r.model.degraded)).toBe(true);
    } finally {
      fake.setDefault({ kind: "ok" });
      fake.release();
    }
  });

  it("is bounded: beyond in-flight + queue, calls degrade to local at once and are counted", async () => {
    fake.setLatency(2_000);
    const caller = new AsyncGatewayCaller({ gateway: client, maxInFlight: 8, maxQueue: 16 });
    const got: ExplainResult[] = [];
    const values = Array.from({ length: 32 }, (_, i) => (i === 31 ? 60 : 20 + Math.sin(i / 3)));
    for (let i = 0; i < 100; i++) {
      caller.submit({ op: "explain", req: { window: { deviceId: "d", metric: "temp", values }, score: 0.95, context: { case: uniqueWord() } } }, (_e, r) => r && got.push(r));
    }
    expect(caller.stats()).toMatchObject({ inFlight: 8, queued: 16, overflowed: 76 });
    await sleep(50);
    expect(got.length).toBe(76); // the overflow was answered locally right away
    expect(got.every((r) => r.model.provider === "local" && r.model.degraded && r.model.degradedReason === "overload")).toBe(true);
    await caller.drain();
    expect(got.length).toBe(100);
    fake.setLatency(0);
  });
});

async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
