/**
 * `shoal detect` gives exactly the scores the running platform stores (issue 19): the first 3,000
 * rows of a NAB file published by Debian's `mosquitto_pub` (a client nobody here wrote) through the
 * real bridge and runtime into ClickHouse, and the same rows as a CSV file through `shoal detect`:
 * score and per-metric scores equal, row by row, to the last bit. The device sends batches of 100
 * readings (one MQTT message each) and the next only once the previous is stored, so the platform
 * applies them in file order: under load the bridge may journal a retried batch after a later one,
 * and the actor scores readings in the order they reach it (docs/sequence-model.md). Publishing
 * starts once the bridge has taken a probe device's reading: the broker drops what is published
 * before the bridge has subscribed.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startClickHouse, startMosquitto, startNats, type ServiceHandle } from "../harness/index.js";
import { startBridgeRole, type BridgeRole } from "../../src/cli/roles/bridge-role.js";
import { startRuntimeRole, type RuntimeRole } from "../../src/cli/roles/runtime-role.js";
import { chQuery, pipelineConfig, quietLogger, waitFor } from "../support/pipeline.js";
import { defaultNabCorpus, readNabCorpus } from "../../src/nab/index.js";
import { run as detect } from "../../src/cli/detect.command.js";
import type { CommandIo } from "../../src/cli/io.js";

const DB = "it_detect";
const ROWS = 3000;
/** Readings per MQTT message (~7 KB of JSON: under bridge.maxPayload, 16 KiB). */
const BATCH = 100;
const FILE = "artificialWithAnomaly/art_daily_jumpsup.csv";

describe("shoal detect matches the platform (NAB file through mosquitto_pub, bridge, runtime, ClickHouse)", () => {
  let nats: ServiceHandle;
  let mq: ServiceHandle;
  let ch: ServiceHandle;
  let bridge: BridgeRole;
  let runtime: RuntimeRole;
  const dir = mkdtempSync(join(tmpdir(), "shoal-e2e-detect-"));

  beforeAll(async () => {
    [nats, mq, ch] = await Promise.all([startNats(), startMosquitto(), startClickHouse()]);
    const cfg = pipelineConfig({ nats: nats.url, mqtt: mq.url, clickhouse: ch.url }, { SHOAL__CLICKHOUSE__DATABASE: DB, SHOAL__RUNTIME__HOST: "inline" });
    runtime = await startRuntimeRole(cfg, quietLogger("runtime"));
    bridge = await startBridgeRole(cfg, quietLogger("bridge"));
  }, 120_000);
  afterAll(async () => {
    await bridge?.close();
    await runtime?.close();
    await Promise.all([nats?.cleanup(), mq?.cleanup(), ch?.cleanup()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("stores, row by row, the scores shoal detect prints for the same rows", async () => {
    const nab = readNabCorpus(defaultNabCorpus()).find((f) => f.relPath === FILE)!;
    expect(nab).toBeDefined();
    // NAB's 2014 timestamps moved to the last days (the bridge takes readings within the raw retention), steps kept.
    const shift = Date.now() - 86_400_000 - nab.tsMs[ROWS - 1]!;
    const rows = Array.from({ length: ROWS }, (_, i) => ({ tsMs: nab.tsMs[i]! + shift, value: nab.values[i]! }));
    const u = new URL(mq.url);
    const q = `SELECT seq, score, metric_scores FROM readings FINAL WHERE device_id = 'nab-1' ORDER BY seq`;
    const read = () => chQuery<{ seq: string; score: number; metric_scores: number[] }>(ch.url, DB, q);
    // The broker drops what is published before the bridge has subscribed (PUBACK "no matching
    // subscribers", which mosquitto_pub does not report): a probe device's reading, sent again until
    // it is stored, shows the bridge is reading. The probe's readings do not touch nab-1's scores.
    const probe = async (seq: number) => {
      const p = spawn("mosquitto_pub", ["-h", u.hostname, "-p", u.port, "-t", "devices/probe-1/readings", "-q", "1", "-m", JSON.stringify({ deviceId: "probe-1", seq, tsMs: Date.now(), metrics: { v: 1 } })], { stdio: "ignore" });
      await new Promise((resolve) => p.on("exit", resolve));
      return chQuery<{ n: string }>(ch.url, DB, "SELECT count() AS n FROM readings WHERE device_id = 'probe-1'");
    };
    let probes = 0;
    await waitFor(async () => probe(++probes), (r) => Number(r[0]?.n) > 0, 60_000, "the bridge to take a probe reading");
    for (let from = 0; from < ROWS; from += BATCH) {
      const readings = rows.slice(from, from + BATCH).map((r, i) => ({ seq: from + i + 1, tsMs: r.tsMs, metrics: { value: r.value } }));
      const pub = spawn("mosquitto_pub", ["-h", u.hostname, "-p", u.port, "-t", "devices/nab-1/readings", "-q", "1", "-s", "-i", `nab-${process.pid}`], { stdio: ["pipe", "ignore", "pipe"] });
      pub.stdin.end(JSON.stringify({ deviceId: "nab-1", readings }));
      expect(await new Promise((resolve) => pub.on("exit", resolve))).toBe(0);
      await waitFor(read, (r) => r.length >= from + readings.length, 90_000, `${from + readings.length} rows`);
    }
    const stored = await read();

    const csv = join(dir, "nab.csv");
    writeFileSync(csv, ["timestamp,value", ...rows.map((r, i) => `${r.tsMs},${nab.rawValues[i]}`)].join("\n") + "\n");
    const out = join(dir, "scores.jsonl");
    const io = { env: {}, stdout: () => undefined, stderr: () => undefined } as CommandIo;
    expect(await detect([csv, "--format", "json", "--out", out, "--device-id", "nab-1"], io)).toBe(0);
    const printed = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { score: number; scores: { value: number } });

    expect(stored.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i + 1));
    expect(stored.map((r) => r.score)).toEqual(printed.map((p) => p.score));
    expect(stored.map((r) => r.metric_scores[0])).toEqual(printed.map((p) => p.scores.value));
    // Not trivially equal: the file's anomaly is scored.
    expect(printed.some((p) => p.score >= 0.9)).toBe(true);
  }, 180_000);
});
