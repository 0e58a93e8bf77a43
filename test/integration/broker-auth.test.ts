import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Writable } from "node:stream";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDynsecAccounts, type DynsecAccounts, type ServiceAccount } from "../../src/adapters/mqtt/dynsec.js";
import { credentialsAccepted } from "../../src/adapters/mqtt/dynsec-control.js";
import { mqttTlsOptions } from "../../src/adapters/mqtt/tls-options.js";
import { systemClock } from "../../src/base/clock.js";
import { createLogger } from "../../src/observability/logger.js";
import { startBrokerSync, type BrokerSync } from "../../src/registry/broker-sync.js";
import { generatePassword, hashPassword, sealPassword } from "../../src/registry/credentials.js";
import { MemoryDeviceRegistry } from "../../src/registry/memory-registry.js";
import { testDeviceRecord } from "../../src/registry/testing-records.js";
import { readLocalBrokerCredentials } from "../../src/cli/local-credentials.js";
import { freePort, releasePort, startMosquitto, type ServiceHandle } from "../harness/index.js";
import type { MosquittoAdmin } from "../harness/mosquitto.js";
import { waitFor } from "../support/pipeline.js";

/**
 * Device authentication and topic ACLs at the broker, driven by the registry (issue 17 part 2,
 * docs/adr/0019-device-identity.md): real Mosquitto 2.0 with the dynamic security plugin, Shoal's
 * dynsec adapter as its admin, the broker sync following an in-memory registry (the NATS KV one is
 * tested in device-registry.test.ts), devices as MQTT 5 clients (mqtt.js) and as Debian's
 * mosquitto_pub/mosquitto_sub.
 */

/** Every log line of the adapter and the sync, to check that no secret is in them. */
const logged: string[] = [];
const log = createLogger({
  level: "debug",
  name: "broker-auth-test",
  destination: new Writable({
    write(chunk: Buffer, _enc, cb) {
      logged.push(chunk.toString("utf8"));
      cb();
    },
  }),
});
const key = randomBytes(32);
/** Every password of the run. */
const secrets: string[] = [];

const bridge: ServiceAccount = { username: "shoal-bridge", password: generatePassword(), role: "bridge" };
const simulator: ServiceAccount = { username: "shoal-simulator", password: generatePassword(), role: "gateway" };
secrets.push(bridge.password, simulator.password);

let broker: ServiceHandle & { readonly admin: MosquittoAdmin };
let accounts: DynsecAccounts;
let registry: MemoryDeviceRegistry;
let sync: BrokerSync;
/** The bridge account subscribed to every device's readings (so an accepted publish is PUBACKed 0, not 16 "no subscribers"). */
let bridgeClient: MqttClient;
const bridgeSaw: string[] = [];
const clients: MqttClient[] = [];

/** MQTT 5 options of a test client; reconnecting off unless asked. */
function opts(username: string | undefined, password: string | undefined, over: IClientOptions = {}): IClientOptions {
  return { protocolVersion: 5, clientId: `${username ?? "anon"}-${randomBytes(3).toString("hex")}`, username, password, reconnectPeriod: 0, connectTimeout: 10_000, log: () => {}, ...over };
}

async function connect(username: string | undefined, password: string | undefined, over: IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(broker.url, opts(username, password, over));
  clients.push(c);
  return c;
}

/** The CONNACK reason code of a refused connection (undefined when accepted). */
async function refusedWith(username: string | undefined, password: string | undefined): Promise<number | undefined> {
  try {
    const c = await connect(username, password);
    await c.endAsync();
    return undefined;
  } catch (e) {
    return (e as { code?: number }).code;
  }
}

/** Registers a device (password sealed with the key, as the DeviceService does) and waits until the broker takes its password. */
async function registerDevice(id: string): Promise<string> {
  const password = generatePassword();
  secrets.push(password);
  await registry.create(testDeviceRecord(id, { passwordHash: await hashPassword(password), sealedPassword: sealPassword(password, key), credentialsRotatedAtMs: Date.now() }));
  await waitFor(() => credentialsAccepted(broker.url, id, password), (ok) => ok, 10_000, `the broker to accept ${id}'s password`);
  return password;
}

/**
 * Publishes at QoS 1 and resolves with the reason code of the broker's PUBACK (mqtt.js resolves a
 * publish with the publish packet itself, and rejects one answered with a code ≥ 0x80: the PUBACK is
 * taken from the packets the client receives).
 */
async function publishReason(c: MqttClient, topic: string, payload: string): Promise<number | string> {
  const pubacks = new Map<number, number>();
  const onPacket = (p: { cmd: string; messageId?: number; reasonCode?: number }): void => {
    if (p.cmd === "puback" && p.messageId !== undefined) pubacks.set(p.messageId, p.reasonCode ?? 0);
  };
  c.on("packetreceive", onPacket);
  try {
    const sent = await c.publishAsync(topic, payload, { qos: 1 });
    const id = (sent as { messageId?: number } | undefined)?.messageId;
    return id !== undefined && pubacks.has(id) ? pubacks.get(id)! : "no PUBACK seen";
  } catch (e) {
    return (e as { code?: number }).code ?? String(e);
  } finally {
    c.off("packetreceive", onPacket);
  }
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...(env ? { env } : {}) });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (code) => resolve({ code, out }));
  });
}

beforeAll(async () => {
  broker = await startMosquitto({ secure: true });
  secrets.push(broker.admin.password);
  accounts = await createDynsecAccounts({ url: broker.url, username: broker.admin.username, password: broker.admin.password, log });
  await accounts.ensureDeviceRole();
  await accounts.ensureServiceAccounts([bridge, simulator]);
  registry = new MemoryDeviceRegistry();
  sync = await startBrokerSync(registry, accounts, { secretKey: key, log, clock: systemClock });
  await sync.ready;
  bridgeClient = await connect(bridge.username, bridge.password, { clientId: "shoal-bridge-test" });
  await bridgeClient.subscribeAsync("$share/shoal-bridge/devices/+/readings", { qos: 1 });
  bridgeClient.on("message", (topic) => bridgeSaw.push(topic));
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await sync?.stop();
  await accounts?.close();
  await broker?.cleanup();
});

describe("device authentication (real Mosquitto, dynamic security driven by the registry)", () => {
  it("refuses a wrong password, an unknown device and anonymous clients; takes the right password", async () => {
    const pw = await registerDevice("auth-1");
    expect([134, 135]).toContain(await refusedWith("auth-1", "not-the-password"));
    expect([134, 135]).toContain(await refusedWith("nobody-1", "whatever"));
    expect([134, 135]).toContain(await refusedWith(undefined, undefined));
    expect(await refusedWith("auth-1", pw)).toBeUndefined();
  });

  it("a device may publish under its own topic only: another device's topic gets PUBACK 135 and reaches nobody", async () => {
    const pwA = await registerDevice("acl-a");
    await registerDevice("acl-b");
    const a = await connect("acl-a", pwA);
    expect(await publishReason(a, "devices/acl-a/readings", JSON.stringify({ deviceId: "acl-a", seq: 1, tsMs: Date.now(), metrics: { t: 1 } }))).toBe(0);
    expect(await publishReason(a, "devices/acl-b/readings", JSON.stringify({ deviceId: "acl-b", seq: 1, tsMs: Date.now(), metrics: { t: 666 } }))).toBe(135);
    // Also refused: a topic outside devices/<id>/.
    expect(await publishReason(a, "elsewhere/acl-a", "x")).toBe(135);
    await waitFor(async () => bridgeSaw.filter((t) => t.startsWith("devices/acl-")), (t) => t.length >= 1, 5_000, "the bridge to get acl-a's reading");
    expect(bridgeSaw.filter((t) => t.startsWith("devices/acl-"))).toEqual(["devices/acl-a/readings"]);
  });

  it("a device may subscribe to its own command topic only, and gets the bridge's commands there", async () => {
    const pw = await registerDevice("sub-a");
    await registerDevice("sub-b");
    const a = await connect("sub-a", pw);
    const granted = async (filter: string): Promise<number | string> =>
      a.subscribeAsync(filter, { qos: 1 }).then(
        (g) => g[0]!.qos,
        (e: { packet?: { granted?: number[] } }) => e.packet?.granted?.[0] ?? "error",
      );
    expect(await granted("devices/sub-b/commands")).toBe(135);
    expect(await granted("devices/+/commands")).toBe(135);
    expect(await granted("#")).toBe(135);
    expect(await granted("devices/sub-b/readings")).toBe(135);
    expect(await granted("devices/sub-a/commands")).toBe(1);
    const got = new Promise<string>((resolve) => a.once("message", (topic, payload) => resolve(`${topic} ${payload.toString()}`)));
    await bridgeClient.publishAsync("devices/sub-a/commands", "reboot", { qos: 1 });
    expect(await got).toBe("devices/sub-a/commands reboot");
  });

  it("disabling a device in the registry cuts its live connection within 1 s; it cannot reconnect until enabled", async () => {
    const pw = await registerDevice("cut-1");
    const dev = await connect("cut-1", pw);
    const closed = new Promise<number>((resolve) => dev.once("close", () => resolve(performance.now())));
    const disconnect = new Promise<number | undefined>((resolve) => dev.once("disconnect", (p) => resolve(p.reasonCode)));
    const t0 = performance.now();
    await registry.update("cut-1", (r) => ({ ...r, enabled: false }));
    const tClosed = await closed;
    expect(tClosed - t0).toBeLessThan(1_000);
    expect(await disconnect).toBe(152); // MQTT 5 "administrative action"
    expect([134, 135]).toContain(await refusedWith("cut-1", pw));
    await registry.update("cut-1", (r) => ({ ...r, enabled: true }));
    await waitFor(() => credentialsAccepted(broker.url, "cut-1", pw), (ok) => ok, 10_000, "cut-1 to be enabled again");
  });

  it("deleting a device removes its account and drops its connection", async () => {
    const pw = await registerDevice("del-1");
    const dev = await connect("del-1", pw);
    const closed = new Promise<void>((resolve) => dev.once("close", () => resolve()));
    await registry.delete("del-1");
    await closed;
    expect([134, 135]).toContain(await refusedWith("del-1", pw));
    expect(await accounts.listDevices()).not.toContain("del-1");
  });

  it("rotating the password: the device reconnects with the new one and every QoS 1 publish reaches the bridge, none lost", async () => {
    const id = "rot-1";
    const oldPw = await registerDevice(id);
    const seen = new Set<number>();
    const sub = await connect(bridge.username, bridge.password, { clientId: "rot-sub", clean: false, properties: { sessionExpiryInterval: 600 } });
    sub.on("message", (_t, payload) => seen.add((JSON.parse(payload.toString()) as { seq: number }).seq));
    await sub.subscribeAsync(`devices/${id}/readings`, { qos: 1 });

    // The device: a persistent session, reconnecting every 100 ms, publishing all along (mqtt.js keeps
    // what it could not send, and what had no PUBACK, and sends it after the reconnect).
    const dev = await connect(id, oldPw, { clientId: id, clean: false, properties: { sessionExpiryInterval: 600 }, reconnectPeriod: 100 });
    let closes = 0;
    dev.on("close", () => closes++);
    const N = 400;
    let acked = 0;
    const failures: string[] = [];
    const allAcked = new Promise<void>((resolve) => {
      let seq = 0;
      const timer = setInterval(() => {
        if (++seq > N) {
          clearInterval(timer);
          return;
        }
        dev.publish(`devices/${id}/readings`, JSON.stringify({ deviceId: id, seq, tsMs: Date.now(), metrics: { t: seq } }), { qos: 1 }, (err) => {
          if (err) failures.push(err.message);
          if (++acked === N) resolve();
        });
      }, 5);
    });
    await new Promise((r) => setTimeout(r, 500));
    // Rotate: the new password is handed to the device (as an operator would) and stored in the registry.
    const newPw = generatePassword();
    secrets.push(newPw);
    dev.options.password = newPw;
    await registry.update(id, (r) => ({ ...r, sealedPassword: sealPassword(newPw, key), credentialsRotatedAtMs: r.credentialsRotatedAtMs + 1 }));
    await allAcked;
    expect(failures).toEqual([]);
    expect(closes).toBeGreaterThanOrEqual(1); // the rotation did cut the old connection
    await waitFor(async () => seen.size, (n) => n >= N, 15_000, "every reading at the subscriber");
    expect([...seen].sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect([134, 135]).toContain(await refusedWith(id, oldPw));
    expect(await refusedWith(id, newPw)).toBeUndefined();
  });

  it("Debian's mosquitto_pub/mosquitto_sub: the right credentials publish, wrong ones are refused", async () => {
    const pw = await registerDevice("cli-1");
    const received = run("mosquitto_sub", ["-V", "5", "-p", String(broker.port), "-u", bridge.username, "-P", bridge.password, "-i", "cli-sub", "-t", "devices/cli-1/readings", "-C", "1", "-W", "20", "-q", "1"]);
    // mosquitto_sub has no "subscribed" signal on stdout: publish until it has the message (or it times out).
    const payload = JSON.stringify({ deviceId: "cli-1", seq: 1, tsMs: Date.now(), metrics: { t: 20.5 } });
    let sub: { code: number | null; out: string } | undefined;
    void received.then((r) => (sub = r));
    for (let i = 0; i < 50 && sub === undefined; i++) {
      const pub = await run("mosquitto_pub", ["-V", "5", "-p", String(broker.port), "-u", "cli-1", "-P", pw, "-t", "devices/cli-1/readings", "-q", "1", "-m", payload]);
      expect(pub.code).toBe(0);
      await new Promise((r) => setTimeout(r, 200));
    }
    const got = await received;
    expect(got.code).toBe(0);
    expect(got.out.trim()).toBe(payload);

    const wrong = await run("mosquitto_pub", ["-V", "5", "-p", String(broker.port), "-u", "cli-1", "-P", "wrong-password", "-t", "devices/cli-1/readings", "-q", "1", "-m", payload]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.out).toMatch(/not authori[sz]ed|bad user name or password/i);
    // The right device, another device's topic: mosquitto_pub reports the refusal.
    const other = await run("mosquitto_pub", ["-V", "5", "-p", String(broker.port), "-u", "cli-1", "-P", pw, "-t", "devices/auth-1/readings", "-q", "1", "-m", payload, "-d"]);
    expect(other.out).toMatch(/PUBACK \(Mid: 1, RC:135\)/);
  });
});

describe("the dynsec adapter against the real plugin", () => {
  it("lists device accounts only, refuses to touch a service account, and enabling an enabled device keeps its connection", async () => {
    const pw = await registerDevice("adp-1");
    const devices = await accounts.listDevices();
    expect(devices).toContain("adp-1");
    expect(devices).not.toContain(bridge.username);
    expect(devices).not.toContain(simulator.username);
    expect(devices).not.toContain(broker.admin.username);
    await expect(accounts.putDevice(bridge.username, "x", true)).rejects.toMatchObject({ code: "conflict" });
    await expect(accounts.setEnabled(simulator.username, false)).rejects.toMatchObject({ code: "conflict" });
    expect(await credentialsAccepted(broker.url, bridge.username, bridge.password)).toBe(true);

    const dev = await connect("adp-1", pw);
    await accounts.setEnabled("adp-1", true);
    await accounts.ensureServiceAccounts([bridge, simulator]); // nothing to change: nobody disconnected
    await accounts.ensureDeviceRole();
    await new Promise((r) => setTimeout(r, 300));
    expect(dev.connected).toBe(true);
    expect(bridgeClient.connected).toBe(true);
    await accounts.removeDevice("never-existed");
    await expect(accounts.putDevice("bad/id", "x", true)).rejects.toMatchObject({ code: "invalid_input" });
  });

  it("the simulator's gateway account publishes any device's readings but cannot read them", async () => {
    const sim = await connect(simulator.username, simulator.password);
    expect(await publishReason(sim, "devices/any-device-7/readings", "{}")).toBe(0); // the bridge account is subscribed
    const denied = await sim.subscribeAsync("devices/+/readings", { qos: 1 }).then(
      (g) => g[0]!.qos,
      (e: { packet?: { granted?: number[] } }) => e.packet?.granted?.[0],
    );
    expect(denied).toBe(135);
  });
});

describe("the local stack's Mosquitto (deploy/local/stack.sh): secure by default", () => {
  it("generates its accounts once into credentials.json (0600), prints none of them, and Shoal's start makes them work", async () => {
    const stackDir = await mkdtemp(join(tmpdir(), "shoal-stack-"));
    const port = await freePort();
    const tlsPort = await freePort();
    const script = fileURLToPath(new URL("../../deploy/local/stack.sh", import.meta.url));
    // Both listeners on free ports (the TLS one defaults to 18883, a running local stack's).
    const env: NodeJS.ProcessEnv = { ...process.env, SHOAL_STACK_DIR: stackDir, SHOAL_MOSQUITTO_PORT: String(port), SHOAL_MOSQUITTO_TLS_PORT: String(tlsPort) };
    delete env.SHOAL_MOSQUITTO_ANONYMOUS;
    const url = `mqtt://127.0.0.1:${port}`;
    let out = "";
    try {
      const up = await run("bash", [script, "up", "mosquitto"], env);
      out += up.out;
      expect(up.code, up.out).toBe(0);
      const file = join(stackDir, "mosquitto", "credentials.json");
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const creds = readLocalBrokerCredentials(stackDir)!;
      expect(creds.admin.username).toBe("shoal-admin");
      expect(creds.bridge.username).toBe("shoal-bridge");
      expect(creds.simulator.username).toBe("shoal-simulator");
      const passwords = [creds.admin.password, creds.bridge.password, creds.simulator.password];
      secrets.push(...passwords);
      expect(new Set(passwords).size).toBe(3);
      expect(await credentialsAccepted(url, "anyone", "x")).toBe(false);

      // What `shoal up` does with the file: drive the broker as its admin, make the service accounts.
      const local = await createDynsecAccounts({ url, username: creds.admin.username, password: creds.admin.password, log });
      try {
        await local.ensureDeviceRole();
        await local.ensureServiceAccounts([
          { ...creds.bridge, role: "bridge" },
          { ...creds.simulator, role: "gateway" },
        ]);
      } finally {
        await local.close();
      }
      expect(await credentialsAccepted(url, creds.bridge.username, creds.bridge.password)).toBe(true);
      expect(await credentialsAccepted(url, creds.simulator.username, creds.simulator.password)).toBe(true);
      // Its TLS listener, with the certificates the stack made (<stack>/mosquitto/tls): the same accounts.
      const tlsUrl = `mqtts://127.0.0.1:${tlsPort}`;
      const tls = mqttTlsOptions(tlsUrl, { caFile: join(stackDir, "mosquitto", "tls", "ca.crt") });
      expect(await credentialsAccepted(tlsUrl, creds.bridge.username, creds.bridge.password, 10_000, tls)).toBe(true);
      expect(await credentialsAccepted(tlsUrl, creds.bridge.username, "wrong", 10_000, tls)).toBe(false);
      expect((await stat(join(stackDir, "mosquitto", "tls", "server.key"))).mode & 0o777).toBe(0o600);

      // A restart keeps the accounts (same file, same plugin state).
      out += (await run("bash", [script, "down", "mosquitto"], env)).out;
      const again = await run("bash", [script, "up", "mosquitto"], env);
      const status = await run("bash", [script, "status", "mosquitto"], env);
      out += again.out + status.out;
      expect(again.code, again.out).toBe(0);
      // The status line names the TLS listener and its CA, as the running config has them.
      expect(status.out).toContain(`TLS mqtts://127.0.0.1:${tlsPort} (CA ${join(stackDir, "mosquitto", "tls", "ca.crt")})`);
      expect(readLocalBrokerCredentials(stackDir)).toEqual(creds);
      expect(await credentialsAccepted(url, creds.bridge.username, creds.bridge.password)).toBe(true);
      for (const p of passwords) expect(out.includes(p), "a password in stack.sh's output").toBe(false);
      expect(out).toContain("credentials.json");
    } finally {
      await run("bash", [script, "down", "--purge", "mosquitto"], env);
      releasePort(port);
      releasePort(tlsPort);
      await rm(stackDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("secrets", () => {
  it("no password of the run (devices', service accounts', the stack's) appears in the adapter's and the sync's logs, nor in the broker's log", async () => {
    const brokerLog = await readFile(broker.logFile, "utf8");
    const all = logged.join("") + brokerLog;
    expect(logged.length).toBeGreaterThan(0);
    for (const s of secrets) expect(all.includes(s), "a password in the logs").toBe(false);
  });
});

describe("a broker restart", () => {
  it("keeps every account (the plugin's file); the adapter reconnects and the sync goes on", async () => {
    const pw = await registerDevice("rst-1");
    await broker.restart();
    expect(await credentialsAccepted(broker.url, "rst-1", pw)).toBe(true);
    expect(await credentialsAccepted(broker.url, bridge.username, bridge.password)).toBe(true);
    await waitFor(() => accounts.listDevices().catch(() => [] as string[]), (l) => l.includes("rst-1"), 30_000, "the adapter to answer after the restart");
    await registry.update("rst-1", (r) => ({ ...r, enabled: false }));
    await waitFor(() => credentialsAccepted(broker.url, "rst-1", pw), (ok) => !ok, 30_000, "rst-1 disabled through the sync after the restart");
  });
});
