/**
 * npm run bench:llm-latency [-- --delays 0,2000 --devices 100 --rate 1000 --duration 20 --anomaly-rate 0.02 --threshold 0.7]
 *
 * Does a slow LLM slow ingest? The real pipeline on real services started by test/harness
 * (Mosquitto, nats-server with JetStream, ClickHouse) with `shoal bridge`, `shoal runtime` and
 * `shoal gateway` as separate processes, the device simulator in this process, and the gateway's
 * explain prompt answered by provider `openai` pointed at a local OpenAI-compatible TEST DOUBLE
 * (test/harness/fake-openai.ts: canned answers, NOT a model) that answers after each delay.
 *
 * The simulator injects many anomalies and the detector threshold is lowered, so device actors call
 * gateway.explain continuously. For each delay: publish for --duration s at --rate, wait for every
 * row, report offered and stored rates, publish→row latency (p50/p99, ClickHouse polled every
 * 100 ms), explain calls the gateway answered, LLM calls the double received (in total and while
 * publishing), pattern-cache hits, analyses rows stored (answered by the LLM path / locally), the
 * gateway's degraded answers by reason, and stored rows/s relative to the mean of the rows with the
 * first delay (instant). Load average is printed next to each row: the machine is
 * shared, so compare rows measured under similar load.
 */
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { freePort, startClickHouse, startMosquitto, startNats } from "../harness/index.js";
import { startFakeOpenAI } from "../harness/fake-openai.js";
import { defaultPrompts } from "../../src/config/gateway-prompts.js";
import { simulate } from "../../src/simulator/simulator.js";
import { chQuery, exited, pipelineEnv, spawnRole, waitFor } from "../support/pipeline.js";
import { startRowLatencyPoller } from "./row-latency.js";

const { values } = parseArgs({
  options: {
    delays: { type: "string", default: "0,2000" },
    devices: { type: "string", default: "100" },
    rate: { type: "string", default: "1000" },
    duration: { type: "string", default: "20" },
    partitions: { type: "string", default: "8" },
    "anomaly-rate": { type: "string", default: "0.02" },
    threshold: { type: "string", default: "0.7" },
  },
});
const delays = values.delays.split(",").map(Number);
const devices = Number(values.devices);
const rate = Number(values.rate);
const duration = Number(values.duration);

/** Sum of a Prometheus counter's samples matching `match` (a label substring), from text format. */
function promSum(text: string, name: string, match = ""): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (match && !line.includes(match)) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** `reason=count` of the gateway's degraded explain answers (gated, overload, deadline, ...). */
function degradedReasons(text: string): string {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^shoal_gateway_degraded_total\{.*op="explain".*reason="([a-z_]+)".*\} (\d+)/.exec(line) ?? /^shoal_gateway_degraded_total\{.*reason="([a-z_]+)".*op="explain".*\} (\d+)/.exec(line);
    if (m && Number(m[2]) > 0) out.push(`${m[1]}=${m[2]}`);
  }
  return out.join(" ") || "-";
}

/** Gateway env: explain → model `gpt` on provider `llm` (kind openai) = the test double. */
function gatewayEnv(baseUrl: string, port: number, metricsPort: number): Record<string, string> {
  const explain = { versions: { v1: { ...defaultPrompts.explain.versions.v1, model: "gpt" } }, split: { v1: 100 } };
  return {
    SHOAL__GATEWAY__LISTEN__PORT: String(port),
    SHOAL__GATEWAY__LISTEN__METRICSPORT: String(metricsPort),
    // Values are YAML, so JSON works for whole sub-trees.
    SHOAL__GATEWAY__PROVIDERS: JSON.stringify({
      llm: { kind: "openai", baseUrl, apiKey: "sk-test-double", timeout: "10s", maxConcurrency: 512, maxQueue: 5000, rateLimit: { requestsPerSec: 1000, burst: 1000 } },
    }),
    SHOAL__GATEWAY__MODELS: JSON.stringify({ gpt: { provider: "llm", name: "fake-gpt", inputUsdPer1M: 0.15, outputUsdPer1M: 0.6 } }),
    SHOAL__GATEWAY__PROMPTS__EXPLAIN: JSON.stringify(explain),
    // Every anomaly the actors report reaches the LLM path (no score gate).
    SHOAL__GATEWAY__GATE__EXPLAINMINSCORE: "0",
    SHOAL__GATEWAY__BUDGET__USDPERPERIOD: "1000",
  };
}

const [mqtt, ch] = await Promise.all([startMosquitto(), startClickHouse()]);
let nats = await startNats();
const rows: Array<Record<string, string | number>> = [];
const startedAt = new Date().toISOString();
try {
  for (const [i, delay] of delays.entries()) {
    if (i > 0) {
      await nats.cleanup();
      nats = await startNats();
    }
    const fake = await startFakeOpenAI({ latencyMs: delay });
    const [gwPort, metricsPort] = [await freePort(), await freePort()];
    const db = `bench_llm_${i}`;
    const env = pipelineEnv(
      { nats: nats.url, mqtt: mqtt.url, clickhouse: ch.url },
      {
        SHOAL__CLICKHOUSE__DATABASE: db,
        SHOAL__NATS__STREAM: `BENCHLLM_${i}`,
        SHOAL__NATS__PARTITIONS: values.partitions,
        SHOAL__MQTT__SHAREDGROUP: `benchllm${i}`,
        SHOAL__CLICKHOUSE__FLUSHINTERVAL: "250ms",
        SHOAL__NODEID: `bench-llm-${i}`,
        SHOAL__LOG__LEVEL: "info",
        SHOAL__DETECTOR__THRESHOLD: values.threshold,
        SHOAL__DETECTOR__PARAMS__WARMUP: "20",
        SHOAL__GATEWAY__CLIENT__ADDRESS: `127.0.0.1:${gwPort}`,
        // Free ports for the status/admin servers (the defaults may be taken on a shared machine).
        SHOAL__GRPC__WEBPORT: "0",
        SHOAL__ADMIN__PORT: "0",
        ...gatewayEnv(fake.baseUrl, gwPort, metricsPort),
      },
    );
    let out = "";
    const gateway = spawnRole("gateway", env, (s) => (out += s));
    await waitFor(async () => out, (o) => o.includes("shoal gateway listening"), 60_000, "gateway start");
    const runtime = spawnRole("runtime", env, (s) => (out += s));
    await waitFor(async () => out, (o) => o.includes("runtime started"), 60_000, "runtime start");
    const bridge = spawnRole("bridge", env, (s) => (out += s));
    await waitFor(async () => out, (o) => o.includes("bridge started"), 60_000, "bridge start");
    await new Promise((r) => setTimeout(r, 500));

    const rowLatency = startRowLatencyPoller(ch.url, db);

    const load0 = loadavg()[0]!;
    const t0 = Date.now();
    const sim = await simulate({ url: mqtt.url, devices, rate, durationSec: duration, connections: 4, maxInFlight: 1000, devicePrefix: `l${i}`, anomalyRate: Number(values["anomaly-rate"]) });
    const llmDuringPublish = fake.counts().chat;
    await waitFor(
      async () => Number((await chQuery<{ n: string }>(ch.url, db, "SELECT count() AS n FROM readings"))[0]?.n ?? 0),
      (n) => n >= sim.acked,
      120_000,
      "all rows",
    ).catch(() => 0);
    const lastRowMs = Date.now() - t0;
    const load1 = loadavg()[0]!;
    await new Promise((r) => setTimeout(r, 300));
    await rowLatency.stop();
    const [u] = await chQuery<{ u: string }>(ch.url, db, "SELECT uniqExact(device_id, epoch, seq) AS u FROM readings");
    // Not part of the throughput figure: let the LLM calls still in flight answer (≤ 15 s), then count.
    await waitFor(async () => fake.answered() - fake.counts().chat, (d) => d >= 0, 15_000, "in-flight LLM calls").catch(() => 0);
    await new Promise((r) => setTimeout(r, 1_000));
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
    const [an] = await chQuery<{ llm: string; local: string }>(ch.url, db, "SELECT countIf(provider = 'llm') AS llm, countIf(provider = 'local') AS local FROM analyses");
    // Requests the gateway answered (direct, cached, local) + those that joined an identical in-flight one.
    const explainCalls = promSum(metrics, "shoal_gateway_requests_total", 'op="explain"') + promSum(metrics, "shoal_gateway_coalesced_total", 'op="explain"');
    const anomalies = Number((await chQuery<{ n: string }>(ch.url, db, `SELECT count() AS n FROM readings WHERE score >= ${Number(values.threshold)}`))[0]?.n ?? 0);
    const pct = (p: number) => rowLatency.percentile(p);
    const stored = Number(u!.u);
    const storedPerSec = stored / (lastRowMs / 1000);
    rows.push({
      "LLM delay ms": delay,
      "offered/s": rate,
      "published/s": Math.round(sim.acked / (sim.elapsedMs / 1000)),
      "stored rows": `${stored}/${sim.acked}`,
      "stored rows/s": Math.round(storedPerSec),
      "p50 ms": pct(50),
      "p99 ms": pct(99),
      anomalies,
      "explain calls": explainCalls,
      "LLM calls (during publish)": `${fake.counts().chat} (${llmDuringPublish})`,
      "cache hits": promSum(metrics, "shoal_gateway_cache_hits_total", 'op="explain"'),
      "analyses llm/local": `${an!.llm}/${an!.local}`,
      "gateway degraded": degradedReasons(metrics),
      "load avg (start→end)": `${load0.toFixed(2)}→${load1.toFixed(2)}`,
    });
    bridge.kill("SIGTERM");
    runtime.kill("SIGTERM");
    await Promise.all([exited(bridge), exited(runtime)]);
    gateway.kill("SIGTERM");
    // Held-open upstream requests would delay the gateway's graceful close; the double closes its sockets.
    await fake.close();
    await exited(gateway);
  }
} finally {
  await Promise.all([nats.cleanup(), mqtt.cleanup(), ch.cleanup()]);
}
console.log(
  `\nbench:llm-latency — ${startedAt}; ${devices} devices, ${rate} readings/s offered for ${duration} s, anomaly rate ${values["anomaly-rate"]}, ` +
    `detector threshold ${values.threshold}, ${values.partitions} partitions; bridge, runtime and gateway as separate processes; ` +
    `LLM = local OpenAI-compatible TEST DOUBLE (test/harness/fake-openai.ts) answering after the given delay\n`,
);
// Ratio against the mean of the instant (first delay) rows: the first row also pays cold caches.
const base = rows.filter((r) => r["LLM delay ms"] === delays[0]).map((r) => Number(r["stored rows/s"]));
const baseMean = base.reduce((a, b) => a + b, 0) / base.length;
for (const r of rows) r[`ratio vs ${delays[0]} ms (mean)`] = +(Number(r["stored rows/s"]) / baseMean).toFixed(3);
console.table(rows);
console.log("stored rows/s = unique rows ÷ (time from first publish to last row); latency = publish → row visible in ClickHouse (+≤100 ms polling).");
process.exit(0);
