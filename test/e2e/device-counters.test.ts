/**
 * Readings as real devices send them (docs/adr/0011-sequence-model.md), published by Debian's
 * `mosquitto_pub` (a client nobody here wrote) through the real bridge and runtime into ClickHouse:
 * reboots inside and after JetStream's duplicate window, an absurd seq, an 8-bit wrapping counter,
 * readings without seq, a 5-minute store-and-forward backlog flushed at once, and batches that come
 * after the ones following them.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startClickHouse, startMosquitto, startNats, type ServiceHandle } from "../harness/index.js";
import { startBridgeRole, type BridgeRole } from "../../src/cli/roles/bridge-role.js";
import { startRuntimeRole, type RuntimeRole } from "../../src/cli/roles/runtime-role.js";
import { chQuery, pipelineConfig, quietLogger, waitFor } from "../support/pipeline.js";
import { sleep } from "../../src/base/clock.js";
import { createDeviceActor } from "../../actors/device/device.actor.js";
import type { ActorContext } from "../../src/ports/actor.js";
import type { Row } from "../../src/ports/row-sink.js";
import type { AnalysisEvent, DeviceMsg } from "../../actors/device/device.messages.js";

const DB = "e2e_device_counters";

/** Readings published by the tests (one per line). */
let published = 0;

/** Publishes each line as one QoS 1 message with mosquitto_pub (-l: one message per stdin line) of `perLine` readings. */
async function mosquittoPub(url: string, topic: string, lines: readonly string[], perLine = 1): Promise<void> {
  const u = new URL(url);
  const child = spawn("mosquitto_pub", ["-h", u.hostname, "-p", u.port, "-t", topic, "-q", "1", "-l", "-i", `pub-${topic.split("/")[1]}-${process.pid}`], { stdio: ["pipe", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  child.stdin.end(lines.join("\n") + "\n");
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  if (code !== 0) throw new Error(`mosquitto_pub exited ${code}: ${err}`);
  published += lines.length * perLine;
}

const json = (o: Record<string, unknown>) => JSON.stringify(o);
const T = Date.now() - 3_600_000;

describe("device counters as real devices send them (mosquitto_pub as the device)", () => {
  let nats: ServiceHandle;
  let mq: ServiceHandle;
  let ch: ServiceHandle;
  let bridge: BridgeRole;
  let runtime: RuntimeRole;
  let nc: NatsConnection;
  const analyses: AnalysisEvent[] = [];

  const rows = async (device: string, final = true) =>
    Number((await chQuery<{ n: string }>(ch.url, DB, `SELECT count() AS n FROM readings ${final ? "FINAL" : ""} WHERE device_id = '${device}'`))[0]!.n);
  const stored = (device: string, n: number) => waitFor(() => rows(device), (c) => c >= n, 30_000, `${n} rows of ${device}`);
  const counters = () => {
    const sum: Record<string, number> = {};
    return runtime.introspect().then((v) => {
      for (const w of v.workers) for (const [k, n] of Object.entries(w.logicCounters["device"] ?? {})) sum[k] = (sum[k] ?? 0) + n;
      return sum;
    });
  };

  beforeAll(async () => {
    [nats, mq, ch] = await Promise.all([startNats(), startMosquitto(), startClickHouse()]);
    const cfg = pipelineConfig(
      { nats: nats.url, mqtt: mq.url, clickhouse: ch.url },
      { SHOAL__CLICKHOUSE__DATABASE: DB, SHOAL__NATS__DUPLICATEWINDOW: "2s", SHOAL__SEQUENCE__WRAP: '[{match: "spb-*", bits: 8}]', SHOAL__RUNTIME__HOST: "inline" },
    );
    runtime = await startRuntimeRole(cfg, quietLogger("runtime"));
    bridge = await startBridgeRole(cfg, quietLogger("bridge"));
    nc = await connect({ servers: nats.url });
    nc.subscribe("shoal.analysis.>", { callback: (_e, m) => void analyses.push(m.json<AnalysisEvent>()) });
    await sleep(500);
  }, 120_000);
  afterAll(async () => {
    await nc?.close();
    await bridge?.close();
    await runtime?.close();
    await Promise.all([nats?.cleanup(), mq?.cleanup(), ch?.cleanup()]);
  });

  it("a reboot mid-stream, inside and after JetStream's duplicate window: every reading stored, two epochs, a restarted event", async () => {
    const run = (d: string, from: number) => Array.from({ length: 20 }, (_, i) => json({ deviceId: d, seq: i + 1, tsMs: T + (from + i) * 1000, metrics: { t: 20 + (i % 5) } }));
    await mosquittoPub(mq.url, "devices/rb-in/readings", [...run("rb-in", 0), ...run("rb-in", 100)]); // reboot at once
    await mosquittoPub(mq.url, "devices/rb-after/readings", run("rb-after", 0));
    await sleep(2500); // past the 2 s duplicate window
    await mosquittoPub(mq.url, "devices/rb-after/readings", run("rb-after", 100));
    for (const d of ["rb-in", "rb-after"]) {
      expect(await stored(d, 40)).toBe(40);
      const epochs = await chQuery<{ e: string; n: string }>(ch.url, DB, `SELECT toString(epoch) AS e, toString(count()) AS n FROM readings FINAL WHERE device_id = '${d}' GROUP BY epoch ORDER BY epoch`);
      expect(epochs).toEqual([{ e: "0", n: "20" }, { e: "1", n: "20" }]);
    }
    const events = await waitFor(
      () => chQuery<{ d: string; detail: string }>(ch.url, DB, "SELECT device_id AS d, detail FROM device_events WHERE kind = 'restarted' ORDER BY device_id"),
      (r) => r.length >= 2,
      20_000,
      "restarted events",
    );
    expect(events.map((e) => e.d)).toEqual(["rb-after", "rb-in"]);
    expect(events[0]!.detail).toMatch(/^inferred: seq 1 at \d+ after seq 20 of epoch 0$/);
  });

  it("an absurd seq is dead-lettered seq_out_of_range; the device goes on and every sane reading is stored", async () => {
    const lines = Array.from({ length: 30 }, (_, i) => json({ deviceId: "absurd", seq: i + 1, tsMs: T + i * 1000, metrics: { t: 20 } }));
    lines.splice(10, 0, json({ deviceId: "absurd", seq: Number.MAX_SAFE_INTEGER, tsMs: T + 10_500, metrics: { t: 20 } }));
    await mosquittoPub(mq.url, "devices/absurd/readings", lines);
    expect(await stored("absurd", 30)).toBe(30);
    const dl = await waitFor(
      () => chQuery<{ code: string; reason: string; payload: string }>(ch.url, DB, "SELECT code, reason, payload FROM dead_letters WHERE source = 'device/absurd'"),
      (r) => r.length >= 1,
      20_000,
      "the dead letter",
    );
    expect(dl).toHaveLength(1);
    expect(dl[0]!.code).toBe("seq_out_of_range");
    expect(dl[0]!.reason).toMatch(/^seq 9007199254740991 jumps \d+ past the high-water mark \d+ \(limit 10000000; /);
    expect(JSON.parse(dl[0]!.payload)).toMatchObject({ deviceId: "absurd", seq: Number.MAX_SAFE_INTEGER });
    expect((await counters()).seq_out_of_range).toBeGreaterThanOrEqual(1);
  });

  it("an 8-bit wrapping counter over 1,000 readings: 1,000 stored as one growing counter", async () => {
    const lines = Array.from({ length: 1000 }, (_, i) => json({ deviceId: "spb-1", seq: i % 256, tsMs: T + i * 100, metrics: { t: 20 + (i % 7) } }));
    await mosquittoPub(mq.url, "devices/spb-1/readings", lines);
    expect(await stored("spb-1", 1000)).toBe(1000);
    const [r] = await chQuery<{ lo: string; hi: string; e: string }>(ch.url, DB, "SELECT toString(min(seq)) AS lo, toString(max(seq)) AS hi, toString(max(epoch)) AS e FROM readings FINAL WHERE device_id = 'spb-1'");
    expect(r).toEqual({ lo: "0", hi: "999", e: "0" });
  });

  it("readings without seq are stored once, and still once when the same payloads are sent again", async () => {
    const lines = Array.from({ length: 10 }, (_, i) => json({ deviceId: "noseq", tsMs: T + i * 1000, metrics: { t: 20 + i } }));
    const before = (await counters()).duplicate ?? 0;
    await mosquittoPub(mq.url, "devices/noseq/readings", lines);
    expect(await stored("noseq", 10)).toBe(10);
    await mosquittoPub(mq.url, "devices/noseq/readings", lines);
    await waitFor(async () => ((await counters()).duplicate ?? 0) - before, (n) => n >= 10, 20_000, "10 duplicates counted");
    expect(await rows("noseq", false)).toBe(10); // not even a physical row more
  });

  it("a 5-minute backlog flushed at once: all stored, scored in time order, its anomaly marked historical, no offline event", async () => {
    const now = Date.now();
    const value = (i: number) => 20 + 3 * Math.sin(i / 9) + ((i * 7919) % 13) / 10 + (i === 50 ? 400 : 0);
    const backlog = Array.from({ length: 300 }, (_, i) => ({ deviceId: "flush-1", seq: i + 1, tsMs: now - 300_000 + i * 1000, metrics: { t: value(i) } }));
    await mosquittoPub(mq.url, "devices/flush-1/readings", backlog.map(json));
    expect(await stored("flush-1", 300)).toBe(300);
    // The detector saw them in time order: its scores equal a replay of the same readings sorted by time.
    const got = await chQuery<{ seq: string; s: number[] }>(ch.url, DB, "SELECT toString(seq) AS seq, metric_scores AS s FROM readings FINAL WHERE device_id = 'flush-1' ORDER BY ts_ms");
    expect(got.map((r) => Number(r.seq))).toEqual(backlog.map((r) => r.seq));
    const replay = replayScores(backlog);
    expect(got.map((r) => r.s[0])).toEqual(replay);
    const anomaly = await waitFor(async () => analyses.find((a) => a.deviceId === "flush-1" && a.seq === 51), (a) => a !== undefined, 20_000, "the backlog's anomaly");
    expect(anomaly).toMatchObject({ kind: "anomaly", historical: true, epoch: 0 });
    const offline = await chQuery<{ n: string }>(ch.url, DB, "SELECT toString(count()) AS n FROM device_events WHERE device_id = 'flush-1' AND kind = 'offline'");
    expect(offline).toEqual([{ n: "0" }]);
  });

  it("batches overtaken by the next ones, 1,450 readings missing at once in 29 runs: every reading stored when the late batches come", async () => {
    const batch = (k: number) => json({ deviceId: "batches-1", readings: Array.from({ length: 50 }, (_, i) => ({ seq: 50 * k + i + 1, tsMs: T + (50 * k + i) * 1000, metrics: { t: 20 + (i % 7) } })) });
    const even = Array.from({ length: 30 }, (_, k) => 2 * k);
    const odd = Array.from({ length: 29 }, (_, k) => 2 * k + 1);
    await mosquittoPub(mq.url, "devices/batches-1/readings", even.map(batch), 50);
    // The even batches went on without the odd ones (the bridge's order stage waits at most its hold).
    expect(await stored("batches-1", 1500)).toBe(1500);
    await mosquittoPub(mq.url, "devices/batches-1/readings", odd.map(batch), 50);
    expect(await stored("batches-1", 2950)).toBe(2950);
    const [dl] = await chQuery<{ n: string }>(ch.url, DB, "SELECT toString(count()) AS n FROM dead_letters WHERE source = 'device/batches-1'");
    expect(dl).toEqual({ n: "0" });
  });

  it("adds up: published = stored + dead-lettered + counted duplicates", async () => {
    const c = await counters();
    const [row] = await chQuery<{ n: string }>(ch.url, DB, "SELECT toString(count()) AS n FROM readings FINAL");
    const [dl] = await chQuery<{ n: string }>(ch.url, DB, "SELECT toString(count()) AS n FROM dead_letters");
    const stored = Number(row!.n);
    const deadLettered = bridge.stats.rejected + Number(dl!.n);
    expect({ published, sum: stored + deadLettered + (c.duplicate ?? 0) }).toEqual({ published, sum: published });
    expect(c.applied).toBe(stored);
    expect(published).toBe(1431 + 2950);
  });
});

/** Scores of a fresh device actor (default settings, no explanations) fed `readings` in time order. */
function replayScores(readings: ReadonlyArray<{ deviceId: string; seq: number; tsMs: number; metrics: Record<string, number> }>): number[] {
  const logic = createDeviceActor({ explainAnomalies: false });
  const out: number[] = [];
  const ctx: ActorContext<DeviceMsg> = {
    self: { type: "device", id: readings[0]!.deviceId },
    now: () => Date.now(),
    send: () => {},
    emit: () => {},
    write: (t, row: Row) => void (t === "readings" && out.push((row["metric_scores"] as number[])[0]!)),
    call: () => {},
    setTimer: () => {},
    cancelTimer: () => {},
  };
  let s = logic.initial(readings[0]!.deviceId);
  for (const r of [...readings].sort((a, b) => a.tsMs - b.tsMs)) s = logic.receive(s, { type: "reading", reading: r, streamSeq: 1 }, ctx);
  return out;
}
