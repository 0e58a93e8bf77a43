import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startClickHouse, startMosquitto, startNats, type ServiceHandle } from "../harness/index.js";
import { startBridgeRole, type BridgeRole } from "../../src/cli/roles/bridge-role.js";
import { startRuntimeRole, type RuntimeRole } from "../../src/cli/roles/runtime-role.js";
import { simulate } from "../../src/simulator/simulator.js";
import { chQuery, exited, pipelineConfig, pipelineEnv, quietLogger, spawnRole, waitFor, type ServiceUrls } from "../support/pipeline.js";
import { sleep } from "../../src/base/clock.js";
import { journalReadings } from "../support/journal-readings.js";

/**
 * End to end on real services: MQTT (Mosquitto) → bridge → JetStream (nats-server) → device actors →
 * ClickHouse. 100 simulated devices × 100 readings each.
 */
describe("pipeline end to end", () => {
  // Mosquitto and ClickHouse are shared (separate databases and MQTT share groups per test);
  // each test gets its own nats-server (its journal subjects must not overlap another test's).
  let nats: ServiceHandle;
  let mqtt: ServiceHandle;
  let ch: ServiceHandle;
  let urls: ServiceUrls;

  beforeAll(async () => {
    [mqtt, ch] = await Promise.all([startMosquitto(), startClickHouse()]);
  });
  beforeEach(async () => {
    nats = await startNats();
    urls = { nats: nats.url, mqtt: mqtt.url, clickhouse: ch.url };
  });
  afterEach(async () => {
    await nats?.cleanup();
  });
  afterAll(async () => {
    await Promise.all([mqtt?.cleanup(), ch?.cleanup()]);
  });

  async function expectExactRows(db: string, stream: string, devices: number, perDevice: number): Promise<void> {
    const total = devices * perDevice;
    await waitFor(
      async () => Number((await chQuery<{ n: string }>(ch.url, db, "SELECT count() AS n FROM readings"))[0]!.n),
      (n) => n >= total,
      60_000,
      `${total} rows in ${db}.readings`,
    ).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await missing(db, perDevice, stream)}`, { cause: e });
    });
    // Rows physically stored (no duplicate was ever inserted) and rows after deduplication.
    const [raw] = await chQuery<{ n: string; u: string }>(ch.url, db, "SELECT count() AS n, uniqExact(device_id, epoch, seq) AS u FROM readings");
    expect(Number(raw!.n)).toBe(total);
    expect(Number(raw!.u)).toBe(total);
    const [fin] = await chQuery<{ n: string }>(ch.url, db, "SELECT count() AS n FROM readings FINAL");
    expect(Number(fin!.n)).toBe(total);
    // Every device's sequence is complete: 1..perDevice, each once.
    const perDev = await chQuery<{ d: string; n: string; lo: string; hi: string }>(
      ch.url,
      db,
      "SELECT device_id AS d, count() AS n, min(seq) AS lo, max(seq) AS hi FROM readings FINAL GROUP BY device_id",
    );
    expect(perDev).toHaveLength(devices);
    for (const r of perDev) expect([r.d, Number(r.n), Number(r.lo), Number(r.hi)]).toEqual([r.d, perDevice, 1, perDevice]);
    // Each reading carries a score in [0, 1] per metric.
    const [sc] = await chQuery<{ bad: string; scored: string }>(
      ch.url,
      db,
      "SELECT countIf(NOT (score >= 0 AND score <= 1) OR length(metric_scores) != length(metric_names) OR length(metric_names) = 0) AS bad, countIf(score > 0) AS scored FROM readings",
    );
    expect(Number(sc!.bad)).toBe(0);
    expect(Number(sc!.scored)).toBeGreaterThan(0);
  }

  /** What a run that came up short is missing: each short device's absent seqs, and the dead letters by code. */
  async function missing(db: string, perDevice: number, stream: string): Promise<string> {
    const short = await chQuery<{ d: string; seqs: string[] }>(ch.url, db, `SELECT device_id AS d, groupArray(seq) AS seqs FROM readings GROUP BY device_id HAVING count() < ${perDevice}`);
    // Whether each absent reading reached the journal, and what stood around it there.
    const journal = await journalReadings(nats.url, stream, pipelineConfig(urls).nats.partitions, short.slice(0, 5).map((x) => x.d)).catch(() => new Map<string, never[]>());
    const absent = short.slice(0, 5).map(({ d, seqs }) => {
      const have = new Set(seqs.map(Number));
      const gone = Array.from({ length: perDevice }, (_, i) => i + 1).filter((q) => !have.has(q));
      const seen = journal.get(d) ?? [];
      const first = seen.slice(0, 12).map((x) => `${x.reading.seq}@${x.streamSeq}/${x.reading.tsMs}`);
      const of = gone.slice(0, 10).map((q) => `${q}: ${seen.filter((x) => x.reading.seq === q).map((x) => `stream ${x.streamSeq} ts ${x.reading.tsMs}`).join(", ") || "not in the journal"}`);
      return `${d}: ${gone.join(",")} (${of.join("; ")}; the device's first journal readings seq@stream/ts: ${first.join(" ")})`;
    });
    const dl = await chQuery<{ code: string; n: string; reason: string }>(ch.url, db, "SELECT code, count() AS n, any(reason) AS reason FROM dead_letters GROUP BY code").catch(() => []);
    return `devices short of ${perDevice} rows: ${absent.join("; ") || "none"}; dead letters: ${dl.map((x) => `${x.code} ${x.n} (${x.reason})`).join("; ") || "none"}`;
  }

  it("stores exactly 10,000 readings from 100 devices, every sequence complete, each scored", async () => {
    const db = "e2e_basic";
    const cfg = pipelineConfig(urls, { SHOAL__CLICKHOUSE__DATABASE: db, SHOAL__NATS__STREAM: "READINGS_BASIC", SHOAL__MQTT__SHAREDGROUP: "basic" });
    let runtime: RuntimeRole | undefined;
    let bridge: BridgeRole | undefined;
    try {
      runtime = await startRuntimeRole(cfg, quietLogger("runtime"));
      bridge = await startBridgeRole(cfg, quietLogger("bridge"));
      const sim = await simulate({ url: mqtt.url, devices: 100, readingsPerDevice: 100, rate: 5000, format: "mixed", devicePrefix: "basic" });
      expect(sim).toMatchObject({ sent: 10_000, acked: 10_000, failed: 0 });
      await expectExactRows(db, "READINGS_BASIC", 100, 100);
      expect(bridge.stats.accepted).toBe(10_000);
      expect(bridge.stats.rejected).toBe(0);
      // The bridge packs readings into journal messages: every one of them is acked.
      expect(bridge.stats.batches).toBeLessThanOrEqual(10_000);
      await waitFor(async () => runtime!.stats().acked, (n) => n === bridge!.stats.batches, 10_000, "every journal message acked");
    } finally {
      await bridge?.close();
      await runtime?.close();
    }
  });

  it("loses and doubles nothing when the bridge process is SIGKILLed and restarted mid-run", async () => {
    const db = "e2e_bridge_kill";
    const extra = { SHOAL__CLICKHOUSE__DATABASE: db, SHOAL__NATS__STREAM: "READINGS_KILL", SHOAL__MQTT__SHAREDGROUP: "killtest" };
    const cfg = pipelineConfig(urls, extra);
    const env = pipelineEnv(urls, { ...extra, SHOAL__NODEID: "kill-bridge", SHOAL__LOG__LEVEL: "info" });
    let out = "";
    const runtime = await startRuntimeRole(cfg, quietLogger("runtime"));
    let bridge = spawnRole("bridge", env, (s) => (out += s));
    try {
      await waitFor(async () => out, (o) => o.includes("bridge started"), 30_000, "the bridge to start");
      let acked = 0;
      const sim = simulate({ url: mqtt.url, devices: 100, readingsPerDevice: 100, rate: 2500, format: "json", devicePrefix: "kill", onProgress: (s) => (acked = s.acked) });
      await waitFor(async () => acked, (n) => n >= 3000, 30_000, "3,000 readings published before the kill");
      bridge.kill("SIGKILL");
      await exited(bridge);
      const killedAt = acked;
      await sleep(1000);
      out = "";
      bridge = spawnRole("bridge", env, (s) => (out += s));
      await waitFor(async () => out, (o) => o.includes("bridge started"), 30_000, "the bridge to restart");
      const s = await sim;
      expect(s).toMatchObject({ sent: 10_000, acked: 10_000, failed: 0 });
      expect(killedAt).toBeLessThan(10_000);
      await expectExactRows(db, "READINGS_KILL", 100, 100).catch((e: Error) => {
        const warnings = out.split("\n").filter((l) => /"level":[456]0/.test(l));
        throw new Error(`${e.message}\nthe restarted bridge's warnings and errors: ${warnings.slice(-20).join("\n") || "none"}`, { cause: e });
      });
    } finally {
      bridge.kill("SIGTERM");
      await exited(bridge);
      await runtime.close();
    }
  });
});
