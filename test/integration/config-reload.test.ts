/**
 * Hot reload on a real Consul: a threshold change reaches the device actors in every worker
 * thread of a running (small, real) worker_threads runtime in under 1 s, without restart and
 * without losing a reading; an invalid change is rejected and the old value stays; Consul
 * killed and restarted: nothing breaks and the watch resumes.
 */
import { Worker } from "node:worker_threads";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConsulKv } from "../../src/adapters/consul/index.js";
import type { ConsulKv } from "../../src/adapters/consul/index.js";
import { configChangedMessage, createConfigWatcher } from "../../src/config/index.js";
import type { ConfigLogger, ConfigWatcher, ResolvedConfig } from "../../src/config/index.js";
import { startConsul } from "../harness/index.js";
import type { ServiceHandle } from "../harness/index.js";

const KEY = "shoal/test/config.yaml";
const WORKERS = 2;
const DEVICES = 200;

/**
 * A stand-in for the runtime's worker: device actors as plain state machines in a Map. Config
 * arrives as a `config.changed` message that the worker delivers to every active actor's
 * mailbox (between two readings, never in the middle of one) before acking.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
let config = workerData.config; let version = workerData.version;
const actors = new Map();
function activate(id) {
  let a = actors.get(id);
  if (!a) { a = { id, threshold: config.detector.threshold, version, lastSeq: 0, count: 0, flagged: 0 }; actors.set(id, a); }
  return a;
}
function receive(a, msg) {
  if (msg.type === "config.changed") { a.threshold = msg.config.detector.threshold; a.version = msg.version; return; }
  if (msg.seq <= a.lastSeq) return;              // idempotent by device sequence
  if (msg.seq !== a.lastSeq + 1) throw new Error("gap on " + a.id + ": " + a.lastSeq + " -> " + msg.seq);
  a.lastSeq = msg.seq; a.count++;
  if (msg.score > a.threshold) a.flagged++;
}
parentPort.on("message", (m) => {
  if (m.type === "batch") { for (const r of m.readings) receive(activate(r.deviceId), r); return; }
  if (m.type === "config.changed") {
    config = m.config; version = m.version;
    for (const a of actors.values()) receive(a, m);
    parentPort.postMessage({ type: "config.ack", version: m.version, threshold: config.detector.threshold, actors: actors.size });
    return;
  }
  if (m.type === "report") {
    const devices = [...actors.values()].map((a) => ({ id: a.id, lastSeq: a.lastSeq, count: a.count, threshold: a.threshold, version: a.version }));
    parentPort.postMessage({ type: "report", devices });
  }
});
`;

interface Ack {
  type: "config.ack";
  version: string;
  threshold: number;
  actors: number;
}
interface DeviceReport {
  id: string;
  lastSeq: number;
  count: number;
  threshold: number;
  version: string;
}

/** 2 worker threads + a reading pump that never stops during the test. */
class MiniRuntime {
  readonly workers: Worker[];
  readonly acks: Array<Ack & { worker: number; at: number }> = [];
  readonly seq = new Map<string, number>();
  sent = 0;
  exits = 0;
  private pump: NodeJS.Timeout | undefined;

  constructor(initial: ResolvedConfig) {
    this.workers = Array.from({ length: WORKERS }, (_, i) => {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { config: initial.config, version: initial.version } });
      w.on("message", (m: { type: string }) => {
        if (m.type === "config.ack") this.acks.push({ ...(m as Ack), worker: i, at: performance.now() });
      });
      w.on("error", (err) => {
        throw err;
      });
      w.on("exit", () => this.exits++);
      return w;
    });
  }

  /** Posts one batch of readings per worker every 2 ms (device d<n> lives on worker n % 2). */
  startReadings(): void {
    this.pump = setInterval(() => {
      const batches: Array<Array<{ deviceId: string; seq: number; score: number }>> = this.workers.map(() => []);
      for (let k = 0; k < 40; k++) {
        const n = (this.sent + k) % DEVICES;
        const deviceId = `d${n}`;
        const seq = (this.seq.get(deviceId) ?? 0) + 1;
        this.seq.set(deviceId, seq);
        batches[n % WORKERS]!.push({ deviceId, seq, score: Math.random() });
      }
      this.sent += 40;
      batches.forEach((readings, i) => this.workers[i]!.postMessage({ type: "batch", readings }));
    }, 2);
  }

  stopReadings(): void {
    clearInterval(this.pump);
  }

  broadcast(resolved: ResolvedConfig): void {
    const msg = configChangedMessage(resolved);
    for (const w of this.workers) w.postMessage(msg);
  }

  async report(): Promise<DeviceReport[]> {
    const parts = await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<DeviceReport[]>((resolve) => {
            const on = (m: { type: string; devices?: DeviceReport[] }) => {
              if (m.type !== "report") return;
              w.off("message", on);
              resolve(m.devices!);
            };
            w.on("message", on);
            w.postMessage({ type: "report" });
          }),
      ),
    );
    return parts.flat();
  }

  async close(): Promise<void> {
    this.stopReadings();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

class MemoryLogger implements ConfigLogger {
  lines: Array<{ level: string; fields: object; msg: string }> = [];
  info = (fields: object, msg: string) => void this.lines.push({ level: "info", fields, msg });
  warn = (fields: object, msg: string) => void this.lines.push({ level: "warn", fields, msg });
  error = (fields: object, msg: string) => void this.lines.push({ level: "error", fields, msg });
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

let consul: ServiceHandle;
let kv: ConsulKv;
let watcher: ConfigWatcher;
let runtime: MiniRuntime;
const log = new MemoryLogger();
const registry = new Registry();

/** Writes the Consul document and returns the time of the write (ms, performance clock). */
async function writeDoc(text: string): Promise<number> {
  const t0 = performance.now();
  await kv.write([{ key: KEY, value: text }]);
  return t0;
}

/** Writes `threshold` and waits until every worker acked it; returns the latency in ms. */
async function changeThreshold(threshold: number): Promise<number> {
  const before = runtime.acks.length;
  const t0 = await writeDoc(`detector:\n  threshold: ${threshold}\n`);
  await until(() => runtime.acks.slice(before).filter((a) => a.threshold === threshold).length === WORKERS, 5_000, `acks of threshold ${threshold}`);
  const done = Math.max(...runtime.acks.slice(before).map((a) => a.at));
  return done - t0;
}

beforeAll(async () => {
  consul = await startConsul();
  kv = createConsulKv({ url: consul.url });
  await writeDoc("detector:\n  threshold: 0.9\n");
  const env = { SHOAL_ENV: "test", SHOAL__CONSUL__URL: consul.url };
  watcher = await createConfigWatcher({ env, logger: log, registry, backoff: { initialMs: 100, maxMs: 1_000 } });
  runtime = new MiniRuntime(watcher.current());
  watcher.subscribe((next) => runtime.broadcast(next));
  runtime.startReadings();
});

afterAll(async () => {
  await runtime?.close();
  await watcher?.close();
  kv?.close();
  await consul?.cleanup();
});

describe("hot reload from a real Consul into worker threads", () => {
  it("a threshold change reaches the device actors of every worker in < 1 s, no restart, no lost reading", async () => {
    expect(watcher.current().config.detector.threshold).toBe(0.9);
    expect(watcher.current().sources.get("detector.threshold")).toBe(`consul:${KEY}`);
    await until(() => runtime.sent > 2_000, 5_000, "readings flowing");
    const threadIds = runtime.workers.map((w) => w.threadId);

    const latencies: number[] = [];
    for (const t of [0.95, 0.91, 0.97, 0.92, 0.95]) latencies.push(await changeThreshold(t));
    const expectedVersion = watcher.current().version;
    console.log(
      `config reload latency, Consul KV write -> ack from the device actors of all ${WORKERS} worker threads: ` +
        `${latencies.map((l) => `${l.toFixed(1)} ms`).join(", ")} (max ${Math.max(...latencies).toFixed(1)} ms)`,
    );
    expect(Math.max(...latencies)).toBeLessThan(1_000);

    await new Promise((r) => setTimeout(r, 50));
    runtime.stopReadings();
    const devices = await runtime.report();
    // Not lost: every device's last applied seq is the last one sent, and counts add up.
    expect(devices).toHaveLength(DEVICES);
    for (const d of devices) {
      expect(d.lastSeq, d.id).toBe(runtime.seq.get(d.id));
      expect(d.count, d.id).toBe(runtime.seq.get(d.id));
      expect(d.threshold, d.id).toBe(0.95);
      expect(d.version, d.id).toBe(expectedVersion);
    }
    expect(devices.reduce((s, d) => s + d.count, 0)).toBe(runtime.sent);
    // Without restart: same threads, none exited.
    expect(runtime.workers.map((w) => w.threadId)).toEqual(threadIds);
    expect(runtime.exits).toBe(0);
    expect(watcher.stats().applied).toBe(5);
    expect(await registry.metrics()).toContain("shoal_config_applied_total 5");
    runtime.startReadings();
  });

  it("an invalid change is rejected, logged with the reason and counted; the old value stays", async () => {
    const acks = runtime.acks.length;
    const before = watcher.current();
    await writeDoc("detector:\n  threshold: 1.5\n");
    await until(() => watcher.stats().rejected === 1, 5_000, "rejection");
    await new Promise((r) => setTimeout(r, 300));
    expect(watcher.current()).toBe(before);
    expect(watcher.current().config.detector.threshold).toBe(0.95);
    expect(runtime.acks.length).toBe(acks);
    const warn = log.lines.find((l) => l.level === "warn" && l.msg.startsWith("configuration change rejected"))!;
    expect(warn.fields).toMatchObject({ issues: [`detector.threshold: must be <= 1 (from consul:${KEY})`] });
    expect(await registry.metrics()).toContain("shoal_config_rejected_total 1");
    // The next valid change is applied as usual.
    expect(await changeThreshold(0.93)).toBeLessThan(1_000);
  });

  it("Consul killed and restarted while running: nothing breaks, last good config kept, the watch resumes", async () => {
    const good = watcher.current();
    const sentBefore = runtime.sent;
    await consul.kill();
    await until(() => watcher.stats().consulErrors >= 2, 10_000, "consul errors to be counted");
    expect(watcher.current()).toBe(good);
    // The runtime keeps processing on the last good config.
    await until(() => runtime.sent > sentBefore + 2_000, 5_000, "readings while Consul is down");
    await consul.restart();
    const latency = await changeThreshold(0.5);
    console.log(`after Consul restart: change applied ${latency.toFixed(1)} ms after the write`);
    expect(watcher.current().config.detector.threshold).toBe(0.5);
    expect(log.lines.some((l) => l.msg === "consul configuration watch resumed")).toBe(true);
    expect(runtime.exits).toBe(0);

    runtime.stopReadings();
    await new Promise((r) => setTimeout(r, 50));
    const devices = await runtime.report();
    for (const d of devices) {
      expect(d.lastSeq, d.id).toBe(runtime.seq.get(d.id));
      expect(d.threshold, d.id).toBe(0.5);
    }
    expect(devices.reduce((s, d) => s + d.count, 0)).toBe(runtime.sent);
  });
});
