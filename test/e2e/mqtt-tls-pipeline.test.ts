import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startClickHouse, startMosquitto, startNats, type ServiceHandle } from "../harness/index.js";
import type { MosquittoTlsEndpoint } from "../harness/mosquitto.js";
import { startBridgeRole, type BridgeRole } from "../../src/cli/roles/bridge-role.js";
import { startRuntimeRole, type RuntimeRole } from "../../src/cli/roles/runtime-role.js";
import { generateTestCerts, type TestCerts } from "../support/certs.js";
import { chQuery, pipelineConfig, quietLogger, waitFor } from "../support/pipeline.js";

/**
 * MQTT over TLS end to end (docs/tls.md "MQTT"): a device publishing with Debian's mosquitto_pub
 * to the broker's TLS listener, the bridge role subscribed over `mqtts://` with `mqtt.tls.caFile`
 * from its configuration (no plaintext URL anywhere in it), the runtime role storing the row in
 * ClickHouse. The broker, NATS and ClickHouse are real processes.
 */

function mosquittoPub(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn("mosquitto_pub", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (code) => resolve({ code, out }));
  });
}

describe("a reading over MQTT with TLS, from a device to a ClickHouse row", () => {
  let certs: TestCerts;
  let nats: ServiceHandle;
  let mq: ServiceHandle & Partial<MosquittoTlsEndpoint>;
  let ch: ServiceHandle;
  let bridge: BridgeRole;
  let runtime: RuntimeRole;
  const db = "e2e_mqtt_tls";

  beforeAll(async () => {
    certs = generateTestCerts();
    [nats, mq, ch] = await Promise.all([
      startNats(),
      startMosquitto({ tls: { caFile: certs.caFile, certFile: certs.serverCertFile, keyFile: certs.serverKeyFile } }),
      startClickHouse(),
    ]);
    const cfg = pipelineConfig(
      { nats: nats.url, mqtt: mq.tlsUrl!, clickhouse: ch.url },
      { SHOAL__CLICKHOUSE__DATABASE: db, SHOAL__MQTT__TLS__CAFILE: certs.caFile },
    );
    expect(cfg.mqtt.url.startsWith("mqtts://")).toBe(true);
    runtime = await startRuntimeRole(cfg, quietLogger("runtime"));
    bridge = await startBridgeRole(cfg, quietLogger("bridge"));
  });
  afterAll(async () => {
    await bridge?.close();
    await runtime?.close();
    await Promise.all([nats?.cleanup(), mq?.cleanup(), ch?.cleanup()]);
    certs?.cleanup();
  });

  it("stores what mosquitto_pub --cafile sent to the TLS port, exactly once", async () => {
    const tsMs = Date.now() - 1000;
    // The bridge subscribes once it is connected: publish until the first reading is stored (the
    // device's seq makes repeats duplicates, so exactly one row is the assertion).
    const payload = JSON.stringify({ deviceId: "tls-dev-1", seq: 1, tsMs, metrics: { t: 21.5 } });
    const pub = () => mosquittoPub(["-h", "127.0.0.1", "-p", String(mq.tlsPort), "--cafile", certs.caFile, "-V", "mqttv5", "-q", "1", "-t", "devices/tls-dev-1/readings", "-m", payload]);
    const first = await pub();
    expect(first.code, first.out).toBe(0);
    const rows = await waitFor(
      async () => {
        const r = await chQuery<{ device_id: string; seq: string; metric_values: number[] }>(ch.url, db, "SELECT device_id, seq, metric_values FROM readings WHERE device_id = 'tls-dev-1'").catch(() => []);
        if (r.length === 0) await pub();
        return r;
      },
      (r) => r.length > 0,
      60_000,
      "the reading sent over TLS stored",
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.device_id).toBe("tls-dev-1");
    expect(Number(rows[0]!.seq)).toBe(1);
    expect(rows[0]!.metric_values).toEqual([21.5]);
    // Without the CA the same device is refused by TLS (the listener is not an open door in disguise).
    const refused = await mosquittoPub(["-h", "127.0.0.1", "-p", String(mq.tlsPort), "-V", "mqttv5", "-q", "1", "-t", "devices/tls-dev-1/readings", "-m", payload]);
    expect(refused.code).not.toBe(0);
  });
});
