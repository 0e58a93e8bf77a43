import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AsyncGatewayCaller, createGatewayClient, startGatewayServer } from "../../src/gateway/index.js";
import type { GatewayClient, GatewayServer } from "../../src/gateway/index.js";
import { createLocalModels } from "../../src/gateway/providers/local.js";
import type { ExplainResult } from "../../src/ports/gateway.js";
import { startFakeOpenAI } from "../harness/fake-openai.js";
import type { FakeOpenAI } from "../harness/fake-openai.js";
import { llmConfig, llmGateway, uniqueWord } from "./gateway-support.js";

/**
 * Device actors call the gateway asynchronously: a 2 s LLM must not slow the stream of readings.
 * A synthetic ingest loop (per reading: a detector-sized computation; every 500th reading an
 * anomaly never seen before that asks the gateway for an explanation over gRPC through the
 * AsyncGatewayCaller) runs against an instant provider and against a 2 s one (alternating, best of
 * two each, because the 2 cores are shared); throughput must stay within 10%.
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

  it("with a 2 s provider, ingest throughput stays within 10% of an instant provider", async () => {
    const n = 200_000;
    const caller = () => new AsyncGatewayCaller({ gateway: client, maxInFlight: 512, maxQueue: 10_000 });
    // Warm-up (JIT, HTTP/2 and HTTP keep-alive connections).
    const warm = caller();
    await ingest(20_000, warm);
    await warm.drain();

    const runs = { instant: [] as Array<Awaited<ReturnType<typeof ingest>>>, slow: [] as Array<Awaited<ReturnType<typeof ingest>>> };
    let inFlightAtLoopEnd = 0;
    for (let round = 0; round < 2; round++) {
      fake.setLatency(0);
      const c0 = caller();
      runs.instant.push(await ingest(n, c0));
      await c0.drain();
      fake.setLatency(2_000);
      const c2 = caller();
      const r = await ingest(n, c2);
      inFlightAtLoopEnd = Math.max(inFlightAtLoopEnd, c2.stats().inFlight);
      runs.slow.push(r);
      await c2.drain();
    }
    fake.setLatency(0);
    const best = (xs: Array<{ rate: number }>) => Math.max(...xs.map((x) => x.rate));
    const instantRate = best(runs.instant);
    const slowRate = best(runs.slow);
    const slow = runs.slow[runs.slow.length - 1]!;
    console.log(
      `ingest readings/s: instant ${runs.instant.map((r) => r.rate.toFixed(0)).join("/")}, 2 s provider ${runs.slow.map((r) => r.rate.toFixed(0)).join("/")} ` +
        `(best ${((slowRate / instantRate) * 100).toFixed(1)}%); anomalies per run ${slow.submitted}, loop ${slow.loopMs.toFixed(0)} ms, ` +
        `first reply after ${slow.firstReplyMs().toFixed(0)} ms, in flight at loop end ${inFlightAtLoopEnd}`,
    );
    expect(slow.submitted).toBe(n / 500);
    expect(slow.firstReplyMs()).toBeGreaterThanOrEqual(1_900); // replies came later, as messages
    expect(inFlightAtLoopEnd).toBeGreaterThan(0); // the loop ended with calls still outstanding
    expect(slowRate).toBeGreaterThanOrEqual(instantRate * 0.9);
    expect(slow.replies.length).toBe(slow.submitted);
    expect(slow.replies.every((r) => r.model.provider === "llm")).toBe(true);
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
    await new Promise((r) => setTimeout(r, 50));
    expect(got.length).toBe(76); // the overflow was answered locally right away
    expect(got.every((r) => r.model.provider === "local" && r.model.degraded && r.model.degradedReason === "overload")).toBe(true);
    await caller.drain();
    expect(got.length).toBe(100);
    fake.setLatency(0);
  });
});
