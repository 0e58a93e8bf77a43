import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mqtt, { type MqttClient } from "mqtt";
import { spawnSync } from "node:child_process";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { partitionOf } from "../../src/domain/partition.js";
import { startClickHouse, startMosquitto, startNats, type ServiceHandle } from "../harness/index.js";
import { startBridgeRole, type BridgeRole } from "../../src/cli/roles/bridge-role.js";
import { startRuntimeRole, type RuntimeRole } from "../../src/cli/roles/runtime-role.js";
import { startGatewayRole, type GatewayRole } from "../../src/cli/gateway.command.js";
import { createTracing } from "../../src/observability/tracing.js";
import { chQuery, pipelineConfig, quietLogger, waitFor } from "../support/pipeline.js";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../support/otlp-receiver.js";
import { startRecordingProxy, type RecordingProxy } from "../support/recording-proxy.js";

/**
 * One anomalous reading, traced from its MQTT 5 publish to its explanation row (issue 18, ADR
 * 0023): the device sends a sampled `traceparent` user property; bridge, runtime (worker-thread
 * actors) and the model gateway (its own gRPC server) each export OTLP/HTTP JSON to a loopback
 * receiver. The head-sampling ratio is 0, so only the device's sampled trace and anomalies are kept.
 */
const DB = "e2e_trace_path";
const DEVICE_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const DEVICE_SPAN = "00f067aa0ba902b7";

describe("a trace from an MQTT 5 publish to the explanation row", () => {
  let nats: ServiceHandle;
  let mq: ServiceHandle;
  let ch: ServiceHandle;
  let otlp: OtlpReceiver;
  let chProxy: RecordingProxy;
  let gateway: GatewayRole;
  let runtime: RuntimeRole;
  let bridge: BridgeRole;
  let device: MqttClient;

  beforeAll(async () => {
    [nats, mq, ch] = await Promise.all([startNats(), startMosquitto(), startClickHouse()]);
    otlp = await startOtlpReceiver();
    // The runtime reaches the real ClickHouse through a proxy that records what its inserts carry.
    chProxy = await startRecordingProxy(ch.url);
    const base = pipelineConfig({ nats: nats.url, mqtt: mq.url, clickhouse: chProxy.url }, { SHOAL__CLICKHOUSE__DATABASE: DB, SHOAL__TRACING__ENDPOINT: otlp.url, SHOAL__TRACING__SAMPLERATIO: "0", SHOAL__ACTORCACHE__ENABLED: "true" });
    gateway = await startGatewayRole({ ...base.gateway, listen: { ...base.gateway.listen, port: 0 } }, { env: {}, tracing: createTracing(base.tracing, "shoal-gateway") });
    const cfg = { ...base, gateway: { ...base.gateway, client: { ...base.gateway.client, address: gateway.address } } };
    runtime = await startRuntimeRole(cfg, quietLogger("runtime"));
    bridge = await startBridgeRole(cfg, quietLogger("bridge"));
    device = await mqtt.connectAsync(mq.url, { protocolVersion: 5, clientId: "trace-device" });
  }, 120_000);
  afterAll(async () => {
    await device?.endAsync();
    await bridge?.close();
    await runtime?.close();
    await gateway?.close();
    await otlp?.close();
    await chProxy?.close();
    await Promise.all([nats?.cleanup(), mq?.cleanup(), ch?.cleanup()]);
  });

  const rows = async (table: string, device: string) => Number((await chQuery<{ n: string }>(ch.url, DB, `SELECT count() AS n FROM ${table} WHERE device_id = '${device}'`).catch(() => [{ n: "0" }]))[0]!.n);
  const publish = (id: string, seq: number, t: number) => device.publishAsync(`devices/${id}/readings`, JSON.stringify({ deviceId: id, seq, tsMs: Date.now(), metrics: { t } }), { qos: 1 });

  /** 60 ordinary readings (the detector's warm-up), stored. The first ones are re-sent until the bridge's subscription is up. */
  async function warmUp(id: string): Promise<void> {
    await waitFor(
      async () => {
        await publish(id, 1, 20);
        return rows("readings", id);
      },
      (n) => n > 0,
      30_000,
      "the bridge to take a first reading",
    );
    for (let s = 2; s <= 60; s++) await publish(id, s, 20 + (s % 5) * 0.01);
    await waitFor(() => rows("readings", id), (n) => n >= 60, 30_000, `60 readings of ${id}`);
  }

  const trace = (traceId: string) => otlp.spans.filter((s) => s.traceId === traceId);
  /** The explanation turn's insert (the last span of the path) has arrived. */
  const complete = (traceId: string) => {
    const spans = trace(traceId);
    const reply = spans.find((s) => s.attributes["shoal.message.type"] === "explanation");
    return reply !== undefined && spans.some((s) => s.name === "shoal.sink.insert" && s.parentSpanId === reply.spanId) && spans.some((s) => s.name === "shoal.gateway.explain");
  };
  const one = (spans: ReceivedSpan[], name: string, where: (s: ReceivedSpan) => boolean = () => true) => {
    const found = spans.filter((s) => s.name === name && where(s));
    expect(found, `${name} in ${JSON.stringify(spans.map((s) => [s.service, s.name, s.spanId, s.parentSpanId]))}`).toHaveLength(1);
    return found[0]!;
  };

  it("carries the device's trace through bridge, journal, actor turn, gateway gRPC and both inserts", async () => {
    await warmUp("tr-1");
    // The traced publish comes from a client nobody here wrote: mosquitto_pub, MQTT 5, user property.
    const url = new URL(mq.url);
    const pub = spawnSync("mosquitto_pub", ["-h", url.hostname, "-p", url.port, "-V", "mqttv5", "-q", "1", "-i", "trace-mosquitto-pub", "-t", "devices/tr-1/readings", "-D", "publish", "user-property", "traceparent", `00-${DEVICE_TRACE}-${DEVICE_SPAN}-01`, "-m", JSON.stringify({ deviceId: "tr-1", seq: 61, tsMs: Date.now(), metrics: { t: 5000 } })], { encoding: "utf8" });
    expect(pub.status, pub.stderr).toBe(0);
    await waitFor(() => rows("analyses", "tr-1"), (n) => n >= 1, 60_000, "the anomaly's explanation row");
    await waitFor(async () => complete(DEVICE_TRACE), (ok) => ok, 30_000, "the trace's spans at the receiver");

    const spans = trace(DEVICE_TRACE);
    const accept = one(spans, "shoal.bridge.accept");
    expect(accept.service).toBe("shoal-bridge");
    expect(accept.parentSpanId).toBe(DEVICE_SPAN);
    expect(accept.attributes["shoal.device.id"]).toBe("tr-1");
    const turn = one(spans, "shoal.actor.turn", (s) => s.attributes["shoal.message.type"] === "reading");
    expect(turn.service).toBe("shoal-runtime");
    expect(turn.parentSpanId).toBe(accept.spanId);
    expect(turn.attributes["shoal.actor.id"]).toBe("tr-1");
    const readingInsert = one(spans, "shoal.sink.insert", (s) => s.parentSpanId === turn.spanId);
    expect(String(readingInsert.attributes["shoal.tables"])).toContain("readings");
    // The actor asks its own cache first (actorCache.enabled): the miss comes back as a turn that calls the gateway.
    expect(one(spans, "shoal.call cache.get").parentSpanId).toBe(turn.spanId);
    const missed = one(spans, "shoal.actor.turn", (s) => s.attributes["shoal.message.type"] === "explain-cache-reply");
    expect(missed.parentSpanId).toBe(turn.spanId);
    const call = one(spans, "shoal.call gateway.explain");
    expect(call.parentSpanId).toBe(missed.spanId);
    const server = one(spans, "shoal.v1.ModelGatewayService/Explain");
    expect(server.service).toBe("shoal-gateway");
    expect(server.parentSpanId).toBe(call.spanId);
    const op = one(spans, "shoal.gateway.explain");
    expect(op.parentSpanId).toBe(server.spanId);
    expect(op.attributes["shoal.gateway.provider"]).toBe("local");
    const reply = one(spans, "shoal.actor.turn", (s) => s.attributes["shoal.message.type"] === "explanation");
    expect(reply.parentSpanId).toBe(missed.spanId);
    const analysesInsert = one(spans, "shoal.sink.insert", (s) => s.parentSpanId === reply.spanId);
    expect(String(analysesInsert.attributes["shoal.tables"])).toContain("analyses");
    // The inserts carried the trace to ClickHouse (an HTTP traceparent header; 18.16 ignores it).
    const carried = (span: ReceivedSpan, table: string) =>
      chProxy.requests.some((r) => r.url.includes(`INSERT INTO ${table}`) && r.headers["traceparent"] === `00-${DEVICE_TRACE}-${span.spanId}-01`);
    expect(carried(readingInsert, "readings")).toBe(true);
    expect(carried(analysesInsert, "analyses")).toBe(true);
    // The journal message that holds the reading carries the bridge span as its traceparent header.
    const nc = await connect({ servers: nats.url });
    try {
      const m = await (await jetstreamManager(nc)).streams.getMessage("READINGS", { last_by_subj: `shoal.readings.${partitionOf("tr-1", 8)}.batch` });
      expect(m?.header.get("traceparent")).toBe(`00-${DEVICE_TRACE}-${accept.spanId}-01`);
    } finally {
      await nc.close();
    }
    // The warm-up readings (no trace context, ratio 0) left no trace.
    expect(otlp.spans.filter((s) => s.name === "shoal.bridge.accept")).toHaveLength(1);
    expect(otlp.bad).toBe(0);
  }, 180_000);

  it("keeps a trace of an anomaly whose reading was not sampled, from its actor turn on", async () => {
    await warmUp("tr-2");
    await publish("tr-2", 61, 5000);
    await waitFor(() => rows("analyses", "tr-2"), (n) => n >= 1, 60_000, "the second anomaly's explanation row");
    const root = await waitFor(
      async () => otlp.spans.find((s) => s.name === "shoal.actor.turn" && s.attributes["shoal.actor.id"] === "tr-2" && s.attributes["shoal.trace.kept"] === true),
      (s) => s !== undefined && complete(s.traceId),
      30_000,
      "the anomaly's own trace",
    );
    const spans = trace(root!.traceId);
    expect(root!.parentSpanId).toBe("");
    expect(spans.some((s) => s.name === "shoal.bridge.accept")).toBe(false);
    const missed = one(spans, "shoal.actor.turn", (s) => s.attributes["shoal.message.type"] === "explain-cache-reply");
    expect(missed.parentSpanId).toBe(root!.spanId);
    expect(one(spans, "shoal.call gateway.explain").parentSpanId).toBe(missed.spanId);
    expect(one(spans, "shoal.v1.ModelGatewayService/Explain").service).toBe("shoal-gateway");
    const reply = one(spans, "shoal.actor.turn", (s) => s.attributes["shoal.message.type"] === "explanation");
    expect(one(spans, "shoal.sink.insert", (s) => s.parentSpanId === reply.spanId).attributes["shoal.tables"]).toContain("analyses");
  }, 180_000);
});
