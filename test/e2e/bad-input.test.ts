import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mqtt from "mqtt";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { startClickHouse, startMosquitto, startNats, type ServiceHandle } from "../harness/index.js";
import { startBridgeRole, type BridgeRole } from "../../src/cli/roles/bridge-role.js";
import { startRuntimeRole, type RuntimeRole } from "../../src/cli/roles/runtime-role.js";
import { DLQ_STREAM } from "../../src/adapters/nats/streams.js";
import { chQuery, pipelineConfig, quietLogger, waitFor } from "../support/pipeline.js";
import { sleep } from "../../src/base/clock.js";

interface DeadLetterJson {
  stage: string;
  code: string;
  reason: string;
  source: string;
  payloadBase64: string;
  payloadBytes: number;
  truncated: boolean;
}

describe("bad input is dead-lettered with a reason, counted, and never stops the pipeline", () => {
  let nats: ServiceHandle;
  let mq: ServiceHandle;
  let ch: ServiceHandle;
  let bridge: BridgeRole;
  let runtime: RuntimeRole;
  const db = "e2e_bad_input";

  beforeAll(async () => {
    [nats, mq, ch] = await Promise.all([startNats(), startMosquitto(), startClickHouse()]);
    const cfg = pipelineConfig({ nats: nats.url, mqtt: mq.url, clickhouse: ch.url }, { SHOAL__CLICKHOUSE__DATABASE: db, SHOAL__BRIDGE__MAXPAYLOAD: "1KiB" });
    runtime = await startRuntimeRole(cfg, quietLogger("runtime"));
    bridge = await startBridgeRole(cfg, quietLogger("bridge"));
    await sleep(500);
  });
  afterAll(async () => {
    await bridge?.close();
    await runtime?.close();
    await Promise.all([nats?.cleanup(), mq?.cleanup(), ch?.cleanup()]);
  });

  it("rejects each kind of bad payload precisely while valid readings keep flowing", async () => {
    // Readings of a minute ago: inside the time window (bridge.maxClockSkew 5m ahead, clickhouse.retention.readings 30d back).
    const T = Date.now() - 60_000;
    const ok = (seq: number) => JSON.stringify({ deviceId: "good-1", seq, tsMs: T + seq, metrics: { t: 20 + seq } });
    const SEQ_RULE = "must be an integer from 0 to 9007199254740991 \\(or absent\\)";
    const cases: Array<{ topic: string; payload: string | Buffer; code: string; reason: RegExp }> = [
      { topic: "devices/bad-1/readings", payload: "{not json", code: "malformed_json", reason: /payload is not valid JSON/ },
      { topic: "devices/bad-1/readings", payload: "[1,2]", code: "malformed_json", reason: /^payload must be a JSON object \(a reading or a batch\), got an array$/ },
      { topic: "devices/bad-1/readings", payload: JSON.stringify({ deviceId: "bad-1", seq: "x", tsMs: T, metrics: { t: 1 } }), code: "invalid_field", reason: new RegExp(`^seq: ${SEQ_RULE}, got string "x"$`) },
      // null is not absent: it used to become seq 0 and then count as a duplicate.
      { topic: "devices/bad-1/readings", payload: JSON.stringify({ deviceId: "bad-1", seq: null, tsMs: T, metrics: { t: 1 } }), code: "invalid_field", reason: new RegExp(`^seq: ${SEQ_RULE}, got null$`) },
      { topic: "devices/bad-1/readings", payload: JSON.stringify({ deviceId: "bad-1", seq: "5", tsMs: T, metrics: { t: 1 } }), code: "invalid_field", reason: new RegExp(`^seq: ${SEQ_RULE}, got string "5" \\(a string, not a JSON number\\)$`) },
      { topic: "devices/17/readings", payload: JSON.stringify({ deviceId: 17, seq: 1, tsMs: T, metrics: { t: 1 } }), code: "invalid_field", reason: /^deviceId: must be a string, got number 17$/ },
      { topic: "devices/bad-1/readings", payload: JSON.stringify({ deviceId: "bad-1", seq: 1, tsMs: T, metrics: { t: "hot" } }), code: "invalid_field", reason: /^metrics\.t: must be a finite number/ },
      // The time window comes from the configuration the bridge role was started with.
      { topic: "devices/bad-1/readings", payload: JSON.stringify({ deviceId: "bad-1", seq: 1, tsMs: Date.now() + 3_600_000, metrics: { t: 1 } }), code: "invalid_field", reason: /^tsMs: must not be later than now \+ 5m max clock skew \(\d{4}-\d\d-\d\dT[\d:.]+Z\), got / },
      { topic: "devices/bad-1/readings", payload: JSON.stringify({ deviceId: "bad-1", seq: 1, tsMs: Date.now() - 40 * 86_400_000, metrics: { t: 1 } }), code: "invalid_field", reason: /^tsMs: must not be earlier than now − 30d max age \(\d{4}-\d\d-\d\dT[\d:.]+Z\), got / },
      { topic: "devices/bad-1/readings", payload: JSON.stringify({ deviceId: "bad-1", seq: 1, tsMs: Date.parse("3000-01-01T00:00:00Z"), metrics: { t: 1 } }), code: "invalid_field", reason: /^tsMs: must be an integer from 1 to 4294967295999 .*, got number 32503680000000 \(3000-01-01T00:00:00\.000Z\)$/ },
      { topic: "devices/bad-1/readings", payload: JSON.stringify({ deviceId: "other", seq: 1, tsMs: T, metrics: { t: 1 } }), code: "topic_mismatch", reason: /^deviceId "other" does not match topic device "bad-1"$/ },
      { topic: "devices/bad-1/readings", payload: JSON.stringify({ deviceId: "bad-1", seq: 1, tsMs: T, metrics: { t: 1 }, log: "x".repeat(2000) }), code: "oversized", reason: /limit is 1024$/ },
      { topic: "devices/bad-1/readings", payload: JSON.stringify({ deviceId: "bad-1", seq: 1, tsMs: T, metrics: { t: 1 }, firmware: "1.2" }), code: "unknown_field", reason: /^unknown field "firmware"/ },
      { topic: "devices/bad-1/readings", payload: Buffer.from([0xff, 0xff, 0xff, 0xff]), code: "malformed_protobuf", reason: /neither a JSON object nor a valid shoal\.v1\.Reading/ },
      { topic: "devices/bad.dot/readings", payload: ok(1), code: "invalid_topic", reason: /must match/ },
    ];
    const client = await mqtt.connectAsync(mq.url, { protocolVersion: 5, clientId: "bad-input-publisher" });
    let seq = 0;
    for (const c of cases) {
      await client.publishAsync(c.topic, c.payload, { qos: 1 });
      await client.publishAsync("devices/good-1/readings", ok(++seq), { qos: 1 }); // interleaved good ones
    }
    await client.endAsync();

    // Every bad payload is durable in the DLQ stream with its code and reason.
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      await waitFor(async () => (await jsm.streams.info(DLQ_STREAM)).state.messages, (n) => n >= cases.length, 20_000, "dead letters");
      const consumer = await jetstream(nc).consumers.get(DLQ_STREAM);
      const letters: DeadLetterJson[] = [];
      const it = await consumer.fetch({ max_messages: cases.length, expires: 5000 });
      for await (const m of it) {
        expect(m.subject).toBe("shoal.dlq.bridge");
        letters.push(m.json<DeadLetterJson>());
      }
      expect(letters).toHaveLength(cases.length);
      // One letter per case; the order between rejection paths (topic, JSON, protobuf) is not promised.
      const left = [...letters];
      for (const c of cases) {
        const original = Buffer.from(typeof c.payload === "string" ? c.payload : c.payload);
        const i = left.findIndex((l) => l.code === c.code && l.source === c.topic && Buffer.from(l.payloadBase64, "base64").equals(original.subarray(0, 4096)));
        expect(i, `a dead letter ${c.code} for ${c.topic}`).toBeGreaterThanOrEqual(0);
        const letter = left.splice(i, 1)[0]!;
        expect(letter).toMatchObject({ stage: "bridge", code: c.code, source: c.topic });
        expect(letter.reason).toMatch(c.reason);
        expect(letter.payloadBytes).toBe(original.length);
      }
      expect(left).toEqual([]);
      expect((await jsm.streams.info(DLQ_STREAM)).state.messages).toBe(cases.length);
    } finally {
      await nc.close();
    }

    expect(bridge.stats.rejected).toBe(cases.length);
    expect(bridge.stats.rejectedByCode).toEqual({ malformed_json: 2, invalid_field: 8, topic_mismatch: 1, oversized: 1, unknown_field: 1, malformed_protobuf: 1, invalid_topic: 1 });
    expect(bridge.stats.accepted).toBe(cases.length);
    // The good readings around them were all stored.
    const rows = await waitFor(
      async () => Number((await chQuery<{ n: string }>(ch.url, db, "SELECT count() AS n FROM readings FINAL WHERE device_id = 'good-1'"))[0]!.n),
      (n) => n >= cases.length,
      30_000,
      "good readings stored",
    );
    expect(rows).toBe(cases.length);
  });
});
