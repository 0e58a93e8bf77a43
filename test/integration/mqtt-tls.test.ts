import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDynsecAccounts, type DynsecAccounts, type ServiceAccount } from "../../src/adapters/mqtt/dynsec.js";
import { credentialsAccepted } from "../../src/adapters/mqtt/dynsec-control.js";
import { createDeferredAckSubscriber, type InboundMessage } from "../../src/adapters/mqtt/deferred-ack-subscriber.js";
import { mqttTlsOptions } from "../../src/adapters/mqtt/tls-options.js";
import { systemClock } from "../../src/base/clock.js";
import { createLogger } from "../../src/observability/logger.js";
import { startBrokerSync, type BrokerSync } from "../../src/registry/broker-sync.js";
import { generatePassword, hashPassword, sealPassword } from "../../src/registry/credentials.js";
import { MemoryDeviceRegistry } from "../../src/registry/memory-registry.js";
import { testDeviceRecord } from "../../src/registry/testing-records.js";
import { simulate } from "../../src/simulator/simulator.js";
import { startMosquitto, type ServiceHandle } from "../harness/index.js";
import type { MosquittoAdmin, MosquittoTlsEndpoint } from "../harness/mosquitto.js";
import { generateTestCerts, type TestCerts } from "../support/certs.js";
import { waitFor } from "../support/pipeline.js";

/**
 * MQTT over TLS (issue 17 part 2, docs/tls.md "MQTT"): real Mosquitto 2.0 with a plaintext and a
 * TLS listener sharing the dynamic-security accounts, certificates from the one local generator
 * (src/adapters/pki/local-pki.ts), devices as Debian's mosquitto_pub, the bridge's own MQTT
 * subscriber connected over mqtts:// with options built from `mqtt.tls` config.
 */

const log = createLogger({ level: "silent", name: "mqtt-tls-test" });
const key = randomBytes(32);
const bridge: ServiceAccount = { username: "shoal-bridge", password: generatePassword(), role: "bridge" };
const gateway: ServiceAccount = { username: "shoal-simulator", password: generatePassword(), role: "gateway" };

type Broker = ServiceHandle & { readonly admin: MosquittoAdmin } & MosquittoTlsEndpoint;
let certs: TestCerts;
let broker: Broker;
let mtlsBroker: Broker;
const accounts: DynsecAccounts[] = [];
const syncs: BrokerSync[] = [];
const registry = new MemoryDeviceRegistry();
const devicePassword = generatePassword();

function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (code) => resolve({ code, out }));
  });
}

/** mosquitto_pub as device `tls-1` (its registry credentials), QoS 1, MQTT 5, to the broker's TLS port. */
function devicePub(b: Broker, extra: string[], password = devicePassword): Promise<{ code: number | null; out: string }> {
  const payload = JSON.stringify({ deviceId: "tls-1", seq: 1, tsMs: Date.now(), metrics: { t: 21.5 } });
  return run("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(b.tlsPort), "-V", "mqttv5", "-q", "1", "-i", `tls-1-${randomBytes(3).toString("hex")}`, "-u", "tls-1", "-P", password, "-t", "devices/tls-1/readings", "-m", payload, ...extra]);
}

async function secureBroker(requireCertificate: boolean): Promise<Broker> {
  const b = await startMosquitto({ secure: true, tls: { caFile: certs.caFile, certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, requireCertificate } });
  const a = await createDynsecAccounts({ url: b.url, username: b.admin.username, password: b.admin.password, log });
  accounts.push(a);
  await a.ensureDeviceRole();
  await a.ensureServiceAccounts([bridge, gateway]);
  const s = await startBrokerSync(registry, a, { secretKey: key, log, clock: systemClock });
  syncs.push(s);
  await s.ready;
  await waitFor(() => credentialsAccepted(b.url, "tls-1", devicePassword), (ok) => ok, 10_000, "the broker to accept tls-1's password");
  return b;
}

beforeAll(async () => {
  certs = generateTestCerts();
  await registry.create(testDeviceRecord("tls-1", { passwordHash: await hashPassword(devicePassword), sealedPassword: sealPassword(devicePassword, key), credentialsRotatedAtMs: Date.now() }));
  [broker, mtlsBroker] = await Promise.all([secureBroker(false), secureBroker(true)]);
});

afterAll(async () => {
  for (const s of syncs) await s.stop();
  for (const a of accounts) await a.close();
  await broker?.cleanup();
  await mtlsBroker?.cleanup();
  certs?.cleanup();
});

describe("local PKI (src/adapters/pki/local-pki.ts)", () => {
  it("keeps private keys 0600", () => {
    for (const f of [certs.serverKeyFile, certs.clientKeyFile]) expect(statSync(f).mode & 0o777).toBe(0o600);
  });
});

describe("Mosquitto TLS listener (real broker, dynamic security)", () => {
  it("a device publishing with mosquitto_pub --cafile on the TLS port reaches the bridge's subscriber connected over mqtts://", async () => {
    const got: InboundMessage[] = [];
    const tls = mqttTlsOptions(broker.tlsUrl, { caFile: certs.caFile, certFile: "", keyFile: "", serverName: "", rejectUnauthorized: true });
    const sub = createDeferredAckSubscriber({ url: broker.tlsUrl, clientId: "shoal-bridge-tls-test", topic: "$share/shoal-bridge/devices/+/readings", receiveMaximum: 100, username: bridge.username, password: bridge.password, tls }, (m) => {
      got.push(m);
      m.ack();
    });
    try {
      // Subscribed (SUBACK) over TLS before the device publishes once.
      await new Promise<void>((resolve, reject) => {
        sub.on("packetreceive", (p) => p.cmd === "suback" && resolve());
        sub.once("error", reject);
      });
      const pub = await devicePub(broker, ["--cafile", certs.caFile]);
      expect(pub.out).toBe("");
      expect(pub.code).toBe(0);
      await waitFor(async () => got.length, (n) => n > 0, 10_000, "the reading at the bridge");
      expect(got[0]?.topic).toBe("devices/tls-1/readings");
      expect(JSON.parse(Buffer.from(got[0]!.payload).toString("utf8"))).toMatchObject({ deviceId: "tls-1", metrics: { t: 21.5 } });
    } finally {
      await sub.endAsync(true);
    }
  });

  it("the simulator publishes over mqtts:// with the CA (shoal simulate --ca)", async () => {
    const sub = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: "shoal-bridge-sim-test", username: bridge.username, password: bridge.password, reconnectPeriod: 0, log: () => {} });
    const topics = new Set<string>();
    sub.on("message", (t) => topics.add(t));
    // Not the shared group: the persistent session of the first test's subscriber is still a member of it.
    await sub.subscribeAsync("devices/+/readings", { qos: 1 });
    try {
      const tls = mqttTlsOptions(broker.tlsUrl, { caFile: certs.caFile });
      const stats = await simulate({ url: broker.tlsUrl, tls, username: gateway.username, password: gateway.password, devices: 2, rate: 100, readingsPerDevice: 3, durationSec: 30, devicePrefix: "simtls" });
      expect(stats.failed).toBe(0);
      expect(stats.acked).toBe(6);
      await waitFor(async () => topics.size, (n) => n === 2, 10_000, "both simulated devices' readings");
    } finally {
      await sub.endAsync(true);
    }
  });

  it("the TLS listener keeps the dynamic-security auth: a wrong password is refused", async () => {
    const r = await devicePub(broker, ["--cafile", certs.caFile], "not-the-password");
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/not authori[sz]ed|bad user name or password/i);
  });

  it("refuses a client that trusts another CA, and a plaintext client on the TLS port", async () => {
    const otherCa = await devicePub(broker, ["--cafile", certs.otherCaFile]);
    expect(otherCa.code).not.toBe(0);
    expect(otherCa.out).toMatch(/certificate verify failed|TLS error/i);
    const plain = await devicePub(broker, []);
    expect(plain.code).not.toBe(0);
    // mqtt.js without the CA: Node's verification refuses the self-made CA.
    await expect(mqtt.connectAsync(broker.tlsUrl, { username: "tls-1", password: devicePassword, reconnectPeriod: 0, connectTimeout: 10_000, log: () => {} })).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  it("the plaintext listener stays for loopback dev", async () => {
    expect(await credentialsAccepted(broker.url, "tls-1", devicePassword)).toBe(true);
  });

  it("with require_certificate: a client without a certificate is refused, one with the CA's client certificate gets in", async () => {
    const noCert = await devicePub(mtlsBroker, ["--cafile", certs.caFile]);
    expect(noCert.code).not.toBe(0);
    const withCert = await devicePub(mtlsBroker, ["--cafile", certs.caFile, "--cert", certs.clientCertFile, "--key", certs.clientKeyFile]);
    expect(withCert.out).toBe("");
    expect(withCert.code).toBe(0);
    // Shoal's own client from config with certFile/keyFile.
    const tls = mqttTlsOptions(mtlsBroker.tlsUrl, { caFile: certs.caFile, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile, serverName: "", rejectUnauthorized: true });
    const c = await mqtt.connectAsync(mtlsBroker.tlsUrl, { protocolVersion: 5, username: bridge.username, password: bridge.password, reconnectPeriod: 0, connectTimeout: 10_000, log: () => {}, ...tls });
    expect(c.connected).toBe(true);
    await c.endAsync();
    await expect(credentialsAccepted(mtlsBroker.tlsUrl, bridge.username, bridge.password, 10_000, mqttTlsOptions(mtlsBroker.tlsUrl, { caFile: certs.caFile }))).rejects.toBeDefined();
  });
});
