import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mqtt, { type MqttClient } from "mqtt";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startMosquitto, startNats, type ServiceHandle } from "../harness/index.js";
import { startBridgeRole, type BridgeRole } from "../../src/cli/roles/bridge-role.js";
import { createKvDeviceRegistry } from "../../src/adapters/nats/device-registry-kv.js";
import { DLQ_STREAM } from "../../src/adapters/nats/streams.js";
import { testDeviceRecord } from "../../src/registry/testing-records.js";
import { createLogger } from "../../src/observability/logger.js";
import type { DeviceRecord, DeviceRegistry } from "../../src/ports/device-registry.js";
import type { ShoalConfig } from "../../src/config/index.js";
import { pipelineConfig, waitFor } from "../support/pipeline.js";

/** The fields of a dead letter this test reads (JSON on shoal.dlq.<stage>). */
interface DeadLetterJson {
  stage: string;
  code: string;
  reason: string;
  source: string;
}

/** Every dead letter in SHOAL_DLQ once it holds at least `atLeast` (a fresh ordered consumer from the start). */
async function deadLetters(nc: NatsConnection, atLeast: number): Promise<DeadLetterJson[]> {
  const jsm = await jetstreamManager(nc);
  const n = await waitFor(async () => (await jsm.streams.info(DLQ_STREAM)).state.messages, (v) => v >= atLeast, 15_000, `${atLeast} dead letters`);
  const consumer = await jetstream(nc).consumers.get(DLQ_STREAM);
  const letters: DeadLetterJson[] = [];
  const msgs = await consumer.fetch({ max_messages: n, expires: 5000 });
  for await (const m of msgs) {
    expect(m.subject).toBe("shoal.dlq.bridge");
    letters.push(m.json<DeadLetterJson>());
    if (letters.length === n) break;
  }
  return letters;
}

/** The record without its revision: what `update` takes back. */
function input(r: DeviceRecord, over: { enabled: boolean }) {
  const { revision: _revision, ...rest } = r;
  return { ...rest, ...over, updatedAtMs: Date.now(), updatedBy: "registry-strict-test" };
}

describe("registry.mode strict: the bridge role admits only enabled registered devices, following registry changes live", () => {
  let nats: ServiceHandle;
  let mq: ServiceHandle;
  let nc: NatsConnection;
  let registry: DeviceRegistry;
  let cfg: ShoalConfig;
  let bridge: BridgeRole | undefined;
  let pub: MqttClient | undefined;
  const logLines: string[] = [];
  let seq = 0;
  // Readings of a minute ago: inside the bridge's time window.
  const reading = (deviceId: string) => JSON.stringify({ deviceId, seq: ++seq, tsMs: Date.now() - 60_000, metrics: { t: 20 + (seq % 10) } });
  const send = async (deviceId: string) => {
    await pub!.publishAsync(`devices/${deviceId}/readings`, reading(deviceId), { qos: 1 });
  };

  beforeAll(async () => {
    [nats, mq] = await Promise.all([startNats(), startMosquitto()]);
    // The bridge needs no ClickHouse; the URL only satisfies the configuration.
    cfg = pipelineConfig({ nats: nats.url, mqtt: mq.url, clickhouse: "http://127.0.0.1:1" }, { SHOAL__REGISTRY__MODE: "strict", SHOAL__MQTT__CONNECTIONS: "2" });
    expect(cfg.registry.mode).toBe("strict");
    nc = await connect({ servers: nats.url });
    registry = await createKvDeviceRegistry(nc, { bucket: cfg.registry.bucket, replicas: 1 });
    // Registered before the bridge starts: its admission view loads them.
    await registry.create(testDeviceRecord("known-1"));
    await registry.create(testDeviceRecord("off-1", { enabled: false }));

    // An info-level logger into memory: "mqtt connected" per connection tells when the bridge subscribed
    // (its subscribe is sent in its own connect handler, registered before the role's log handler).
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(...chunk.toString().split("\n").filter((l) => l !== ""));
        done();
      },
    });
    bridge = await startBridgeRole(cfg, createLogger({ level: "info", name: "bridge", destination: sink }), { env: {} });
    await waitFor(async () => logLines.filter((l) => l.includes('"mqtt connected"')).length, (n) => n >= cfg.mqtt.connections, 15_000, "the bridge's MQTT connections");
    pub = await mqtt.connectAsync(mq.url, { protocolVersion: 5, clientId: "registry-strict-publisher" });
  }, 60_000);

  afterAll(async () => {
    await pub?.endAsync();
    await bridge?.close();
    await nc?.close();
    await Promise.all([nats?.cleanup(), mq?.cleanup()]);
  });

  it("dead-letters unknown and disabled devices, journals the known one, and follows enable/disable without a restart", async () => {
    const b = bridge!;
    await send("known-1");
    await send("off-1");
    await send("stranger-1");

    await waitFor(async () => ({ accepted: b.stats.accepted, rejected: b.stats.rejected }), (s) => s.accepted >= 1 && s.rejected >= 2, 15_000, "the three readings handled");
    expect(b.stats.accepted).toBe(1);
    expect(b.stats.rejected).toBe(2);
    expect(b.stats.rejectedByCode).toEqual({ unknown_device: 1, device_disabled: 1 });

    const letters = await deadLetters(nc, 2);
    expect(letters).toHaveLength(2);
    const unknown = letters.find((l) => l.code === "unknown_device");
    const disabled = letters.find((l) => l.code === "device_disabled");
    expect(unknown).toMatchObject({ stage: "bridge", source: "devices/stranger-1/readings" });
    expect(unknown!.reason).toContain('"stranger-1"');
    expect(disabled).toMatchObject({ stage: "bridge", source: "devices/off-1/readings" });
    expect(disabled!.reason).toContain('"off-1"');

    // The journal holds exactly the known device's reading (one journal message with one reading).
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(cfg.nats.stream)).state.messages).toBe(1);

    // Enable off-1: the bridge's view follows the registry's watch; a new reading of it is accepted.
    await registry.update("off-1", (cur) => input(cur, { enabled: true }));
    let offProbes = 0;
    await waitFor(
      async () => {
        offProbes++;
        await send("off-1");
        return b.stats.accepted;
      },
      (n) => n >= 2,
      5_000,
      "a reading of off-1 accepted after enabling it",
    );
    // Probes sent before the change reached the bridge were dead-lettered as disabled, nothing else.
    await waitFor(async () => b.stats.accepted + b.stats.rejected, (n) => n >= 3 + offProbes, 10_000, "every off-1 probe handled");
    expect(b.stats.rejectedByCode.unknown_device).toBe(1);
    expect(b.stats.accepted + b.stats.rejected).toBe(3 + offProbes);

    // Disable known-1: its next readings are dead-lettered device_disabled.
    const before = { accepted: b.stats.accepted, disabled: b.stats.rejectedByCode.device_disabled ?? 0 };
    await registry.update("known-1", (cur) => input(cur, { enabled: false }));
    let knownProbes = 0;
    await waitFor(
      async () => {
        knownProbes++;
        await send("known-1");
        return b.stats.rejectedByCode.device_disabled ?? 0;
      },
      (n) => n > before.disabled,
      5_000,
      "a reading of known-1 dead-lettered after disabling it",
    );
    await waitFor(async () => b.stats.accepted + b.stats.rejected, (n) => n >= 3 + offProbes + knownProbes, 10_000, "every known-1 probe handled");
    expect(b.stats.accepted + b.stats.rejected).toBe(3 + offProbes + knownProbes);
    expect(b.stats.rejectedByCode.unknown_device).toBe(1);

    // Every rejection is a durable dead letter; known-1's carry device_disabled and its id.
    const all = await deadLetters(nc, b.stats.rejected);
    expect(all).toHaveLength(b.stats.rejected);
    const knownLetters = all.filter((l) => l.source === "devices/known-1/readings");
    expect(knownLetters.length).toBe(b.stats.rejectedByCode.device_disabled! - before.disabled);
    for (const l of knownLetters) {
      expect(l.code).toBe("device_disabled");
      expect(l.reason).toContain('"known-1"');
    }
    expect(all.filter((l) => l.code === "unknown_device").map((l) => l.source)).toEqual(["devices/stranger-1/readings"]);
  }, 60_000);
});
