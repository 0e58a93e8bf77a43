/**
 * `npm run bench:gateway` — model gateway benchmark (prints a table; no timed assertions).
 *
 * 1. Score calls/s over gRPC against `shoal gateway` running in its own process (local provider):
 *    unary Score, client micro-batching (Score → ScoreBatch), and explicit ScoreBatch RPCs.
 * 2. Cache-hit latency (p50/p99) of Explain: in-process (memory Keyv), over gRPC, and with Redis.
 * 3. Alarm storm: 1,000 anomalies from many devices (a few failure modes, random levels, noise and
 *    magnitudes) → how many reach the LLM (local OpenAI-compatible test double) after the gate,
 *    the pattern cache and coalescing.
 * Env: BENCH_SECONDS (default 5) per throughput row.
 */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Registry } from "prom-client";
import { createKeyvStore } from "../../src/adapters/keyv/index.js";
import { createOpenAIProvider } from "../../src/adapters/openai/index.js";
import { createGateway, createGatewayClient, createGatewayMetrics, startGatewayServer } from "../../src/gateway/index.js";
import type { GatewayClient, GatewayConfig } from "../../src/gateway/index.js";
import type { CacheStore } from "../../src/gateway/cache.js";
import type { MetricWindow, ModelGateway } from "../../src/ports/gateway.js";
import { startFakeOpenAI } from "../harness/fake-openai.js";
import type { FakeOpenAI } from "../harness/fake-openai.js";
import { freePort, startRedis } from "../harness/index.js";
import { llmConfig, metricValue, spikeWindow } from "../integration/gateway-support.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const rows: Array<[string, string, string]> = [];
const row = (what: string, value: string, note = "") => {
  rows.push([what, value, note]);
  console.error(`  ${what}: ${value} ${note}`);
};

// A pool of 32-value windows from 10,000 devices (1% with a spike), built once so the client
// measures the gateway, not window generation.
const pool: MetricWindow[] = Array.from({ length: 10_000 }, (_, i) => {
  const values = new Array<number>(32);
  for (let k = 0; k < 32; k++) values[k] = 20 + Math.sin((i + k) / 3);
  if (i % 100 === 0) values[31] = 40;
  return { deviceId: `dev-${i}`, metric: "temp", values };
});
const windowOf = (i: number): MetricWindow => pool[i % pool.length]!;

/** Keep `inflight` calls outstanding for SECONDS; returns completed calls per second. */
async function closedLoop(inflight: number, call: (i: number) => Promise<unknown>): Promise<number> {
  let done = 0;
  let i = 0;
  const end = performance.now() + SECONDS * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      await call(i++);
      done++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inflight }, worker));
  return done / ((performance.now() - t0) / 1000);
}

async function startGatewayProcess(): Promise<{ address: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "src/cli/main.ts"), "gateway", "--port", String(port)], {
    cwd: root,
    env: { ...process.env, SHOAL__LOG__LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const address = `127.0.0.1:${port}`;
  const probe = createGatewayClient({ address });
  await probe.waitForReady(30_000);
  probe.close();
  return {
    address,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

async function scoreThroughput(): Promise<void> {
  console.error("score throughput over gRPC (gateway in its own process)...");
  const gw = await startGatewayProcess();
  try {
    const unary = createGatewayClient({ address: gw.address, scoreBatch: { maxBatch: 1 } });
    await closedLoop(64, (i) => unary.score({ window: windowOf(i) })); // warm-up
    row("Score, unary RPC (256 in flight)", `${(await closedLoop(256, (i) => unary.score({ window: windowOf(i) }))).toFixed(0)} calls/s`, "one RPC per score");
    unary.close();

    const batched = createGatewayClient({ address: gw.address }); // defaults: ≤1024 per RPC, ≤4 RPCs in flight
    await closedLoop(4096, (i) => batched.score({ window: windowOf(i) }));
    const b = await closedLoop(8192, (i) => batched.score({ window: windowOf(i) }));
    row("Score, client micro-batching → ScoreBatch (8192 callers)", `${b.toFixed(0)} calls/s`, "same score() API; ≤1024 per RPC, ≤4 RPCs in flight");
    batched.close();

    const direct = createGatewayClient({ address: gw.address });
    const batch = Array.from({ length: 1000 }, (_, i) => ({ window: windowOf(i) }));
    await closedLoop(2, () => direct.scoreBatch(batch));
    const perSec = await closedLoop(2, () => direct.scoreBatch(batch));
    row("ScoreBatch RPC, 1000 windows each (2 in flight)", `${(perSec * 1000).toFixed(0)} scores/s`, `${perSec.toFixed(0)} RPCs/s`);
    direct.close();
  } finally {
    await gw.stop();
  }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function cacheHitLatency(fake: FakeOpenAI): Promise<void> {
  console.error("cache-hit latency...");
  const measure = async (label: string, gw: ModelGateway, n: number) => {
    const req = { window: spikeWindow("dev-bench"), score: 0.97, context: { case: "latency" } };
    await gw.explain(req); // the one LLM call that fills the cache
    const lat: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const r = await gw.explain(req);
      lat.push(performance.now() - t0);
      if (!r.model.cached) throw new Error(`${label}: expected a cache hit`);
    }
    row(`Explain cache hit, ${label}`, `p50 ${pct(lat, 50).toFixed(3)} ms, p99 ${pct(lat, 99).toFixed(3)} ms`, `${n} sequential calls`);
  };
  const build = (cfg: GatewayConfig, cache?: CacheStore) =>
    createGateway({ config: cfg, providers: new Map([["llm", createOpenAIProvider({ id: "llm", baseUrl: fake.baseUrl, apiKey: "bench" })]]), ...(cache ? { cache } : {}) });

  const memKeyv = await createKeyvStore({ namespace: "bench" });
  const inproc = build(llmConfig(fake), memKeyv);
  await measure("in-process, Keyv memory", inproc, 20_000);
  const server = await startGatewayServer(inproc, { port: 0 });
  const client: GatewayClient = createGatewayClient({ address: server.address });
  await measure("over gRPC, Keyv memory", client, 5_000);
  client.close();
  await server.close();

  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  try {
    redis = await startRedis();
    const keyv = await createKeyvStore({ namespace: "bench", redisUrl: redis.url });
    const g = build(llmConfig(fake, { extra: { cache: { redisUrl: redis.url } } }), keyv);
    await measure("in-process, Keyv Redis", g, 5_000);
    await keyv.disconnect();
  } catch (e) {
    row("Explain cache hit, Redis", "skipped", (e as Error).message.split("\n")[0]!);
  } finally {
    await redis?.cleanup();
  }
}

/** Deterministic PRNG (mulberry32) so the storm is the same on every run. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function alarmStorm(fake: FakeOpenAI): Promise<void> {
  console.error("alarm storm...");
  const registry = new Registry();
  const cfg = llmConfig(fake, { provider: { rateLimit: { requestsPerSec: 50, burst: 50 }, maxConcurrency: 16, timeout: 10_000 } });
  const gw = createGateway({
    config: cfg,
    providers: new Map([["llm", createOpenAIProvider({ id: "llm", baseUrl: fake.baseUrl, apiKey: "bench" })]]),
    metrics: createGatewayMetrics(registry),
  });
  fake.reset();
  fake.setLatency(300);
  const rand = rng(42);
  const modes = ["spike", "dip", "shift", "drift", "stuck"] as const;
  const reqs = Array.from({ length: 1000 }, (_, i) => {
    const mode = modes[Math.floor(rand() * modes.length)]!;
    const level = 10 + rand() * 90;
    const noise = 0.5 + rand();
    const mag = (6 + rand() * 10) * noise;
    const values = Array.from({ length: 32 }, (_, k) => level + noise * Math.sin(k / 2 + rand()));
    if (mode === "spike") values[31] = level + mag;
    if (mode === "dip") values[31] = level - mag;
    if (mode === "shift") for (let k = 26; k < 32; k++) values[k] = level + mag;
    if (mode === "drift") for (let k = 16; k < 32; k++) values[k] = values[k]! + (mag * (k - 16)) / 16;
    if (mode === "stuck") for (let k = 24; k < 32; k++) values[k] = level + mag;
    const metric = ["temp", "pressure", "vibration"][i % 3]!;
    return { window: { deviceId: `dev-${i}`, metric, values }, score: 0.75 + rand() * 0.25, context: { site: ["north", "south"][i % 2]! } };
  });
  const t0 = performance.now();
  // Alarms arrive in waves of 100 within a few seconds (concurrently within a wave).
  const results = [];
  for (let w = 0; w < 10; w++) results.push(...(await Promise.all(reqs.slice(w * 100, w * 100 + 100).map((r) => gw.explain(r)))));
  const ms = performance.now() - t0;
  fake.setLatency(0);
  const llmCalls = fake.counts().chat;
  const cached = results.filter((r) => r.model.cached).length;
  const coalesced = await metricValue(registry, "shoal_gateway_coalesced_total");
  const cost = results.reduce((s, r) => s + r.model.costUsd, 0);
  row("Alarm storm: LLM calls per 1,000 anomalies", `${llmCalls}`, `cache hits ${cached}, coalesced ${coalesced}, ${((1000 - llmCalls) / 10).toFixed(1)}% avoided, $${cost.toFixed(5)}, ${ms.toFixed(0)} ms`);
  const naive = 1000;
  row("  (without pattern cache + coalescing)", `${naive}`, "one LLM call per anomaly");
  await gw.close();
}

async function main(): Promise<void> {
  const fake = await startFakeOpenAI();
  try {
    await scoreThroughput();
    await cacheHitLatency(fake);
    await alarmStorm(fake);
  } finally {
    await fake.close();
  }
  const w0 = Math.max(...rows.map((r) => r[0].length), 6);
  const w1 = Math.max(...rows.map((r) => r[1].length), 6);
  const lines = [`| ${"metric".padEnd(w0)} | ${"result".padEnd(w1)} | notes |`, `|${"-".repeat(w0 + 2)}|${"-".repeat(w1 + 2)}|-------|`];
  for (const [a, b, c] of rows) lines.push(`| ${a.padEnd(w0)} | ${b.padEnd(w1)} | ${c} |`);
  console.log(`\nmodel gateway benchmark (${SECONDS} s per throughput row, Node ${process.version}, 2 cores shared)\n${lines.join("\n")}`);
}

await main();
process.exit(0);
