import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startClickHouse, startMosquitto, startNats, type ServiceHandle } from "../harness/index.js";
import { startFakeOpenAI, type FakeOpenAI } from "../harness/fake-openai.js";
import { startBridgeRole, type BridgeRole } from "../../src/cli/roles/bridge-role.js";
import { startRuntimeRole, type RuntimeRole } from "../../src/cli/roles/runtime-role.js";
import { startGatewayRole, type GatewayRole } from "../../src/cli/gateway.command.js";
import { simulate } from "../../src/simulator/simulator.js";
import { llmConfig } from "../integration/gateway-support.js";
import { chQuery, pipelineConfig, quietLogger, waitFor, type ServiceUrls } from "../support/pipeline.js";

const DEVICES = 40;
const PER_DEVICE = 150;
const THRESHOLD = 0.7;

/**
 * A stuck LLM does not stall ingest (issue #5), shown without timing: the gateway's explain model is
 * the local OpenAI-compatible TEST DOUBLE (test/harness/fake-openai.ts) holding every request open
 * until the test releases it. While every LLM call is held, all published readings must reach
 * ClickHouse (device actors never wait for an answer); after the release, every anomaly gets its
 * analyses row from the LLM. Real Mosquitto, nats-server and ClickHouse; bridge, runtime and the
 * gateway (over gRPC) in this process.
 */
describe("a slow LLM does not hold up ingest", () => {
  let nats: ServiceHandle;
  let mqtt: ServiceHandle;
  let ch: ServiceHandle;
  let fake: FakeOpenAI;

  beforeAll(async () => {
    [mqtt, ch, nats] = await Promise.all([startMosquitto(), startClickHouse(), startNats()]);
    fake = await startFakeOpenAI();
  });
  afterAll(async () => {
    fake?.release();
    await fake?.close();
    await Promise.all([nats?.cleanup(), mqtt?.cleanup(), ch?.cleanup()]);
  });

  const count = async (db: string, sql: string) => Number((await chQuery<{ n: string }>(ch.url, db, sql))[0]?.n ?? 0);

  it("stores every reading while all LLM calls are held, then stores the LLM's analyses once released", async () => {
    const db = "e2e_slow_llm";
    const total = DEVICES * PER_DEVICE;
    fake.setDefault({ kind: "hold" });
    const gwCfg = llmConfig(fake, {
      provider: { timeout: "5m", maxConcurrency: 64, maxQueue: 10_000, rateLimit: { requestsPerSec: 1_000, burst: 1_000 } },
      // No score gate and a generous deadline: every anomaly's explain goes to the (held) LLM.
      extra: { listen: { port: 0 }, gate: { explainMinScore: 0 }, deadlines: { explain: "5m" }, budget: { usdPerPeriod: 1_000 } },
    });
    let gateway: GatewayRole | undefined;
    let runtime: RuntimeRole | undefined;
    let bridge: BridgeRole | undefined;
    try {
      gateway = await startGatewayRole(gwCfg, { env: {} });
      const urls: ServiceUrls = { nats: nats.url, mqtt: mqtt.url, clickhouse: ch.url };
      const cfg = pipelineConfig(urls, {
        SHOAL__CLICKHOUSE__DATABASE: db,
        SHOAL__NATS__STREAM: "READINGS_SLOW_LLM",
        SHOAL__MQTT__SHAREDGROUP: "slowllm",
        SHOAL__DETECTOR__THRESHOLD: String(THRESHOLD),
        SHOAL__DETECTOR__PARAMS__WARMUP: "20",
        SHOAL__GATEWAY__CLIENT__ADDRESS: gateway.address,
        SHOAL__GATEWAY__CLIENT__TIMEOUT: "5m",
        SHOAL__GRPC__WEBPORT: "0",
        SHOAL__ADMIN__PORT: "0",
      });
      runtime = await startRuntimeRole(cfg, quietLogger("runtime"));
      bridge = await startBridgeRole(cfg, quietLogger("bridge"));

      const sim = await simulate({ url: mqtt.url, devices: DEVICES, readingsPerDevice: PER_DEVICE, rate: 2_000, format: "json", devicePrefix: "slow", anomalyRate: 0.03 });
      expect(sim).toMatchObject({ sent: total, acked: total, failed: 0 });

      // Every reading is stored while the LLM has not answered a single call.
      await waitFor(() => count(db, "SELECT count() AS n FROM readings"), (n) => n >= total, 90_000, `${total} rows in ${db}.readings`);
      expect(await count(db, "SELECT uniqExact(device_id, epoch, seq) AS n FROM readings")).toBe(total);
      const anomalies = await count(db, `SELECT count() AS n FROM readings WHERE score >= ${THRESHOLD}`);
      expect(anomalies).toBeGreaterThan(0);
      await waitFor(async () => fake.held(), (n) => n > 0, 30_000, "explain calls held by the LLM double");
      expect(fake.answered()).toBe(0);
      expect(await count(db, "SELECT count() AS n FROM analyses WHERE provider = 'llm'")).toBe(0);
      const heldWhileStored = fake.held();

      // Release: the LLM answers everything (held and later requests); each anomaly gets its row.
      fake.setDefault({ kind: "ok" });
      expect(fake.release()).toBe(heldWhileStored);
      await waitFor(() => count(db, "SELECT uniqExact(device_id, seq, metric) AS n FROM analyses"), (n) => n >= anomalies, 90_000, `${anomalies} analyses rows`);
      const [a] = await chQuery<{ llm: string; joined: string; n: string }>(
        ch.url,
        db,
        "SELECT countIf(provider = 'llm' AND degraded = 0) AS llm, uniqExactIf(device_id, seq, metric, model = 'incident') AS joined, uniqExact(device_id, seq, metric) AS n FROM analyses",
      );
      expect(Number(a!.n)).toBe(anomalies);
      // Every incident's first anomaly was answered by the LLM path (direct, coalesced or cached),
      // none degraded to local; an anomaly that joined an incident is stored without a call of its own.
      expect(Number(a!.joined)).toBeLessThan(anomalies);
      expect(Number(a!.llm)).toBeGreaterThanOrEqual(anomalies - Number(a!.joined));
      expect(fake.answered()).toBeGreaterThanOrEqual(heldWhileStored);
    } finally {
      await bridge?.close();
      await runtime?.close();
      await gateway?.close();
    }
  });
});
