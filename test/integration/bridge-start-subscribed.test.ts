import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mqtt from "mqtt";
import { startMosquitto, startNats, type ServiceHandle } from "../harness/index.js";
import { startBridgeRole } from "../../src/cli/roles/bridge-role.js";
import { pipelineConfig, quietLogger, waitFor, type ServiceUrls } from "../support/pipeline.js";

/**
 * "The bridge started" means its MQTT connections are subscribed. A bridge of another share group
 * that ran before on the same broker left persistent sessions subscribed to the same topic: a device
 * publishing to a bridge not yet subscribed gets PUBACK 0 from the broker (that group's offline
 * sessions matched), not 0x10, so it never sends the reading again — and this bridge never sees it.
 * (A fresh-clone CI run lost the first reading of one device this way: the test published on the
 * bridge's "bridge started" line, which came before its SUBACKs.)
 */
describe("bridge start", () => {
  let nats: ServiceHandle;
  let broker: ServiceHandle;
  let urls: ServiceUrls;

  beforeAll(async () => {
    [nats, broker] = await Promise.all([startNats(), startMosquitto()]);
    urls = { nats: nats.url, mqtt: broker.url, clickhouse: "http://127.0.0.1:1" };
  });
  afterAll(async () => {
    await Promise.all([nats?.cleanup(), broker?.cleanup()]);
  });

  it("resolves once every connection is subscribed: a reading published at once reaches it, while another group's sessions hold the topic", async () => {
    // An earlier bridge of group "before": its sessions outlive it on the broker.
    const earlier = await startBridgeRole(pipelineConfig(urls, { SHOAL__MQTT__SHAREDGROUP: "before" }), quietLogger("bridge"));
    await earlier.close();

    const device = await mqtt.connectAsync(broker.url, { clientId: "start-device", protocolVersion: 5, clean: true });
    const reasons: number[] = [];
    device.on("packetreceive", (p) => {
      if (p.cmd === "puback") reasons.push(p.reasonCode ?? 0);
    });
    const cfg = pipelineConfig(urls, { SHOAL__MQTT__SHAREDGROUP: "after" });
    const bridge = await startBridgeRole(cfg, quietLogger("bridge"));
    try {
      expect(cfg.mqtt.connections).toBeGreaterThan(1);
      expect(bridge.subscribed()).toBe(cfg.mqtt.connections); // what `shoal bridge`'s /readyz reports
      // Published the moment the role says it started, from a connection already open.
      await device.publishAsync("devices/start-1/readings", JSON.stringify({ deviceId: "start-1", seq: 1, tsMs: Date.now(), metrics: { t: 20 } }), { qos: 1 });
      expect(reasons).toEqual([0]); // delivered, as far as the broker tells the device
      await waitFor(async () => bridge.stats.accepted, (n) => n === 1, 10_000, "the reading durable in the journal");
      expect(bridge.stats.rejected).toBe(0);
    } finally {
      await device.endAsync();
      await bridge.close();
    }
  });
});
