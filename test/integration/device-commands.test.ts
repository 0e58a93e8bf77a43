import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { createClient, createRouterTransport, type Client } from "@connectrpc/connect";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats } from "../../src/adapters/nats/connection.js";
import { createKvCommandStore } from "../../src/adapters/nats/command-store-kv.js";
import { createCommandFeed } from "../../src/adapters/nats/command-stream.js";
import mqtt from "mqtt";
import { createMqttCommandLink } from "../../src/adapters/mqtt/command-link.js";
import { systemClock } from "../../src/base/clock.js";
import { startDownlink, type Downlink, type DownlinkStats } from "../../src/bridge/downlink.js";
import { applyEvent, isSettled, newCommandId } from "../../src/commands/index.js";
import { startCommandResponder } from "../../src/simulator/command-responder.js";
import { simulate } from "../../src/simulator/simulator.js";
import { startBridgeDownlink, createConfiguredCommandService } from "../../src/cli/roles/device-commands.js";
import { configSchema } from "../../src/config/index.js";
import { CommandStatus, DeviceCommandService } from "../../src/gen/shoal/v1/command_pb.js";
import type { CommandStore } from "../../src/ports/commands.js";
import { startMosquitto, startNats, type ServiceHandle } from "../harness/index.js";
import { waitFor } from "../support/pipeline.js";

const run = promisify(execFile);
const RETRY_MS = 1_000;

/** A message as Debian's mosquitto_sub printed it with -F '%t|%D|%R|%E|%p'. */
interface Received {
  readonly topic: string;
  readonly correlation: string;
  readonly responseTopic: string;
  readonly expirySec: number;
  readonly payload: string;
}

/** A device played by mosquitto_sub (MQTT 5, QoS 1) on its command topic. */
class SubDevice {
  readonly received: Received[] = [];
  private out = "";
  private readonly proc: ChildProcess;
  constructor(port: number, readonly id: string) {
    // stdbuf: mosquitto_sub's stdout is block-buffered on a pipe; lines must arrive as printed.
    this.proc = spawn("stdbuf", ["-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", String(port), "-V", "mqttv5", "-q", "1", "-i", `dev-${id}-${process.pid}`, "-t", `devices/${id}/commands`, "-d", "-F", "%t|%D|%R|%E|%p"], { stdio: ["ignore", "pipe", "pipe"] });
    this.proc.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      this.out += chunk;
      for (;;) {
        const nl = this.out.indexOf("\n");
        if (nl < 0) break;
        const line = this.out.slice(0, nl);
        this.out = this.out.slice(nl + 1);
        if (line.startsWith(`devices/${id}/commands|`)) {
          const [topic, correlation, responseTopic, expiry, ...rest] = line.split("|");
          this.received.push({ topic: topic!, correlation: correlation!, responseTopic: responseTopic!, expirySec: Number(expiry), payload: rest.join("|") });
        } else if (line.includes("received SUBACK")) {
          this.subscribed = true;
        }
      }
    });
  }
  subscribed = false;
  async ready(): Promise<this> {
    await waitFor(async () => this.subscribed, (s) => s, 15_000, `mosquitto_sub of ${this.id} to be subscribed`);
    return this;
  }
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill("SIGTERM");
    await exited;
  }
}

/**
 * Downlink end to end (docs/adr/0021-device-commands.md) on real NATS JetStream and Mosquitto 2.0,
 * with Debian's mosquitto_sub/mosquitto_pub as the device: the command service and the bridge's
 * downlink run in this process.
 */
describe("commands to devices (real NATS + Mosquitto, mosquitto-clients as the device)", () => {
  let nats: ServiceHandle;
  let mosquitto: ServiceHandle;
  let nc: NatsConnection;
  let store: CommandStore;
  /** Two bridges' downlinks, as two bridge processes would run them (shared consumer, shared reply subscription). */
  let downlinks: Downlink[] = [];
  const stats = (k: keyof DownlinkStats) => downlinks.reduce((a, d) => a + d.stats[k], 0);
  let client: Client<typeof DeviceCommandService>;
  const devices: SubDevice[] = [];

  beforeAll(async () => {
    [nats, mosquitto] = await Promise.all([startNats(), startMosquitto()]);
    nc = await connectNats(nats.url, "device-commands-test");
    const cfg = configSchema.parse({ nodeId: "bridge-b", nats: { url: nats.url }, mqtt: { url: mosquitto.url }, commands: { retryEvery: `${RETRY_MS}ms` } });
    const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
    // The service and bridge b as the roles wire them from the configuration; bridge a composed by
    // hand on the same bucket, stream and consumer (as a second bridge process would).
    const impl = await createConfiguredCommandService(nc, cfg, quiet);
    client = createClient(DeviceCommandService, createRouterTransport(({ service }) => service(DeviceCommandService, impl)));
    store = await createKvCommandStore(nc, { bucket: cfg.commands.bucket, replicas: 1, keepMs: cfg.commands.keepMs });
    const link = createMqttCommandLink({ url: mosquitto.url, clientId: "shoal-bridge-a-downlink", group: `${cfg.mqtt.sharedGroup}-replies` });
    downlinks = [startDownlink({ store, feed: createCommandFeed(nc, { replicas: 1 }), link, clock: systemClock, retryEveryMs: RETRY_MS }), await startBridgeDownlink(nc, cfg, quiet)];
  });

  afterAll(async () => {
    await Promise.all(devices.map((d) => d.stop()));
    await Promise.all(downlinks.map((d) => d.stop()));
    await nc?.drain();
    await Promise.all([nats?.cleanup(), mosquitto?.cleanup()]);
  });

  const device = async (id: string) => {
    const d = new SubDevice(mosquitto.port, id);
    devices.push(d);
    return d.ready();
  };
  const reply = (topicDevice: string, correlation: string, body: string) =>
    run("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(mosquitto.port), "-V", "mqttv5", "-q", "1", "-t", `devices/${topicDevice}/commands/reply`, "-D", "publish", "correlation-data", correlation, "-m", body]);
  const get = async (id: string) => (await client.getCommand({ commandId: id })).command!;
  const statusBecomes = (id: string, s: CommandStatus, ms = 20_000) => waitFor(() => get(id), (c) => c.status === s, ms, `command ${id} to be ${CommandStatus[s]}`);
  const receivedBy = (d: SubDevice, ms = 20_000) => waitFor(async () => d.received.length, (n) => n > 0, ms, `${d.id} to receive a command`).then(() => d.received[0]!);

  it("online device: delivered with correlation data and response topic, replied, ACKNOWLEDGED", async () => {
    const d1 = await device("d1");
    const { command } = await client.sendCommand({ deviceId: "d1", name: "set-interval", payloadJson: '{"seconds":5}', ttlMs: 30_000n });
    expect(command!.status).toBe(CommandStatus.PENDING);
    const id = command!.commandId;
    const got = await receivedBy(d1);
    expect(got.topic).toBe("devices/d1/commands");
    expect(got.correlation).toBe(id);
    expect(got.responseTopic).toBe("devices/d1/commands/reply");
    expect(got.expirySec).toBeGreaterThan(0);
    expect(got.expirySec).toBeLessThanOrEqual(30);
    expect(JSON.parse(got.payload)).toEqual({ commandId: id, name: "set-interval", payload: { seconds: 5 } });
    await statusBecomes(id, CommandStatus.DELIVERED);
    await reply("d1", got.correlation, '{"ok":true,"interval":5}');
    const done = await statusBecomes(id, CommandStatus.ACKNOWLEDGED);
    expect(done).toMatchObject({ replyJson: '{"ok":true,"interval":5}', attempts: 1, reason: "" });
    expect(d1.received.length).toBe(1);
  });

  it("offline device: stays PENDING (the broker answers 16, no subscribers), delivered once it connects, then acknowledged", async () => {
    const { command } = await client.sendCommand({ deviceId: "d2", name: "reboot", ttlMs: 40_000n });
    const id = command!.commandId;
    // At least two PUBACKs "no matching subscribers" seen: still pending, not delivered.
    const waiting = await waitFor(() => get(id), (c) => c.attempts >= 2, 20_000, "two offline attempts");
    expect(waiting.status).toBe(CommandStatus.PENDING);
    expect(stats("offline")).toBeGreaterThanOrEqual(2);
    const d2 = await device("d2");
    const got = await receivedBy(d2, RETRY_MS + 15_000);
    expect(got.correlation).toBe(id);
    await statusBecomes(id, CommandStatus.DELIVERED);
    await reply("d2", id, '{"ok":true}');
    await statusBecomes(id, CommandStatus.ACKNOWLEDGED);
  });

  it("offline past the TTL: EXPIRED, stored as such", async () => {
    const { command } = await client.sendCommand({ deviceId: "d3", name: "reboot", ttlMs: 3_000n });
    const id = command!.commandId;
    // The stored record (not only the view of it) is expired by the downlink when the command comes back at its TTL.
    const rec = await waitFor(() => store.get(id, "d3"), (r) => r?.status === "expired", 20_000, "the stored record to be expired");
    expect(rec).toMatchObject({ status: "expired", reason: expect.stringContaining("online") });
    expect(rec!.attempts).toBeGreaterThanOrEqual(1);
    expect((await get(id)).status).toBe(CommandStatus.EXPIRED);
    // Coming online later, the device gets nothing (the command left the queue).
    const d3 = await device("d3");
    await new Promise((r) => setTimeout(r, RETRY_MS * 2));
    expect(d3.received).toEqual([]);
  });

  it("a failed reply: FAILED with the device's error", async () => {
    const d4 = await device("d4");
    const { command } = await client.sendCommand({ deviceId: "d4", name: "update", payloadJson: '{"v":"2.0"}', ttlMs: 30_000n });
    const got = await receivedBy(d4);
    await reply("d4", got.correlation, '{"ok":false,"error":"disk full"}');
    const done = await statusBecomes(command!.commandId, CommandStatus.FAILED);
    expect(done).toMatchObject({ reason: "disk full", replyJson: '{"ok":false,"error":"disk full"}' });
  });

  it("a reply on another device's topic does not settle the command", async () => {
    const d5 = await device("d5");
    const { command } = await client.sendCommand({ deviceId: "d5", name: "reboot", ttlMs: 30_000n });
    const id = command!.commandId;
    await receivedBy(d5);
    await statusBecomes(id, CommandStatus.DELIVERED);
    const before = stats("foreignReplies");
    await reply("d6", id, '{"ok":true}');
    await waitFor(async () => stats("foreignReplies"), (n) => n > before, 15_000, "the foreign reply to be counted");
    expect((await get(id)).status).toBe(CommandStatus.DELIVERED);
    // The right device's reply still settles it.
    await reply("d5", id, '{"ok":true}');
    await statusBecomes(id, CommandStatus.ACKNOWLEDGED);
    const list = await client.listCommands({ deviceId: "d5" });
    expect(list.commands.map((c) => c.commandId)).toEqual([id]);
  });

  it("the simulator's devices answer commands", async () => {
    const sim = await mqtt.connectAsync(mosquitto.url, { clientId: "sim-test", protocolVersion: 5, clean: true });
    const responder = await startCommandResponder(sim, ["sim-0", "sim-1"], { replyDelayMs: 50 });
    try {
      const ids = await Promise.all(["sim-0", "sim-1"].map(async (d) => (await client.sendCommand({ deviceId: d, name: "ping", ttlMs: 30_000n })).command!.commandId));
      for (const id of ids) {
        const c = await statusBecomes(id, CommandStatus.ACKNOWLEDGED);
        expect(JSON.parse(c.replyJson)).toEqual({ ok: true, commandId: id, name: "ping" });
      }
      expect(responder.answered()).toBe(2);
    } finally {
      await responder.stop();
      await sim.endAsync();
    }
  });

  it("simulate({answerCommands: true}): a simulated fleet's device acknowledges a command", async () => {
    const stop = new AbortController();
    const run = simulate({ url: mosquitto.url, devices: 2, rate: 4, durationSec: 60, devicePrefix: "fleet", answerCommands: true, signal: stop.signal });
    try {
      // Sent perhaps before the simulator subscribed: then it waits (offline) and is retried.
      const { command } = await client.sendCommand({ deviceId: "fleet-1", name: "ping", ttlMs: 40_000n });
      const c = await statusBecomes(command!.commandId, CommandStatus.ACKNOWLEDGED, 30_000);
      expect(JSON.parse(c.replyJson)).toMatchObject({ ok: true, commandId: command!.commandId });
    } finally {
      stop.abort();
      await run;
    }
  });

  it("racing status writers on the real KV: exactly one settles a command, nothing reopens it", async () => {
    const now = Date.now();
    const commandId = newCommandId(now);
    await store.create({ commandId, deviceId: "race", name: "x", payloadJson: "{}", status: "pending", createdAtMs: now, expiresAtMs: now + 60_000, updatedAtMs: now, replyJson: "", reason: "", sentBy: "t", attempts: 0 });
    const events = [
      { kind: "accepted", atMs: now + 1 },
      { kind: "replied", atMs: now + 2, ok: true, replyJson: "{}", reason: "" },
      { kind: "replied", atMs: now + 2, ok: false, replyJson: "{}", reason: "no" },
      { kind: "refused", atMs: now + 3, reason: "denied" },
      { kind: "no_subscribers", atMs: now + 1 },
    ] as const;
    const results = await Promise.all([...events, ...events].map((e) => store.transition("race", commandId, (c) => applyEvent(c, e))));
    const settling = results.filter((r) => r!.changed && isSettled(r!.record.status));
    expect(settling.length).toBe(1);
    const final = await store.get(commandId, "race");
    expect(final!.status).toBe(settling[0]!.record.status);
    expect(final!.revision).toBe(settling[0]!.record.revision);
  });
});
