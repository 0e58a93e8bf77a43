import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "@nats-io/transport-node";
import { publishJournal, syntheticJournal } from "../support/journal-fixture.js";
import { startClickHouse, startNats, type ServiceHandle } from "../harness/index.js";
import { ensureJournal } from "../../src/adapters/nats/streams.js";
import { startRuntimeRole } from "../../src/cli/roles/runtime-role.js";
import type { Incident } from "../../src/ports/incidents.js";
import { chQuery, pipelineConfig, quietLogger, waitFor } from "../support/pipeline.js";

/**
 * Chaos: ClickHouse loses power mid-stream. How that looks to ClickHouse: the process dies and
 * the parts it wrote last (not yet synced by the OS) are gone when it starts again. The runtime
 * had acknowledged those rows' readings to the journal. It must notice the restart by itself and
 * put every lost row back from the row log, identical (scores included), while the stream goes on.
 */
const DEVICES = 500;
const ROUNDS = 20;
const PARTITIONS = 8;
const DB = "chaos_chloss";
const TABLES = ["readings", "analyses", "device_events", "dead_letters"];
const ANALYSES = "SELECT device_id, toString(epoch) AS e, toString(seq) AS s, metric, score, summary, provider, degraded FROM analyses FINAL ORDER BY device_id, e, s, metric";
const ROWS = "SELECT device_id, toString(epoch) AS e, toString(seq) AS s, ts_ms, metric_names, metric_values, metric_scores, score, log, toString(stream_seq) AS ss FROM readings FINAL ORDER BY device_id, e, s";

describe("ClickHouse loses its newest parts (power loss) mid-stream", () => {
  let nats: ServiceHandle;
  let ch: ServiceHandle;
  beforeAll(async () => {
    [nats, ch] = await Promise.all([startNats(), startClickHouse()]);
  });
  afterAll(async () => {
    await Promise.all([nats?.cleanup(), ch?.cleanup()]);
  });

  it("puts every lost row back, identical, by itself", async () => {
    const msgs = syntheticJournal({ devices: DEVICES, rounds: ROUNDS, partitions: PARTITIONS, prefix: "l-", seedStep: 17, seedOffset: 3, anomalyRate: 0.01 });
    const cfg = pipelineConfig(
      { nats: nats.url, mqtt: "mqtt://127.0.0.1:1", clickhouse: ch.url },
      { SHOAL__NATS__PARTITIONS: String(PARTITIONS), SHOAL__CLICKHOUSE__DATABASE: DB, SHOAL__RUNTIME__WORKERS: "2", SHOAL__CLICKHOUSE__REPAIR__CHECKEVERY: "500ms", SHOAL__CLICKHOUSE__REPAIR__LOOKBACK: "10m" },
    );
    const nc = await connect({ servers: nats.url });
    await ensureJournal(nc, { stream: cfg.nats.stream, partitions: PARTITIONS, duplicateWindowMs: 120_000, maxAgeMs: 86_400_000, maxAckPending: 20_000, replicas: 1 });
    const incidents: Incident[] = [];
    const rt = await startRuntimeRole(cfg, quietLogger("runtime"), "all", { incidents: { report: (i) => incidents.push(i), degradedReason: () => "" } });
    const stored = async () => Number((await chQuery<{ n: string }>(ch.url, DB, "SELECT toString(uniqExact(device_id, epoch, seq)) AS n FROM readings").catch(() => [{ n: "-1" }]))[0]!.n);
    try {
      // Part 1 (30 %): written long enough ago to be on disk. Its newest block per table is the line.
      const cut1 = Math.floor(msgs.length * 0.3);
      const cut2 = Math.floor(msgs.length * 0.7);
      await publishJournal(nc, msgs.slice(0, cut1));
      await waitFor(stored, (n) => n >= cut1, 120_000, "part 1 stored");
      const synced = new Map((await chQuery<{ t: string; b: string }>(ch.url, DB, `SELECT table AS t, toString(max(max_block_number)) AS b FROM system.parts WHERE database = '${DB}' AND active GROUP BY table`)).map((r) => [r.t, Number(r.b)]));
      // Part 2 (40 %): acknowledged, stored, and about to be lost.
      await publishJournal(nc, msgs.slice(cut1, cut2), { every: 500, ms: 20 });
      await waitFor(stored, (n) => n >= cut2, 120_000, "part 2 stored");
      const before = await chQuery<Record<string, unknown>>(ch.url, DB, ROWS);
      expect(before).toHaveLength(cut2);
      // Explanations arrive asynchronously (the model gateway degrades to the local models): some
      // must be stored before the fault for the comparison to mean anything.
      await waitFor(async () => (await chQuery(ch.url, DB, ANALYSES)).length, (n) => n > 0, 60_000, "some analyses stored before the fault");
      const analysesBefore = await chQuery<Record<string, unknown>>(ch.url, DB, ANALYSES);

      // Power loss: ClickHouse dies; every part newer than the line is gone from its disk.
      await ch.kill();
      let partsDropped = 0;
      for (const table of TABLES) {
        const dir = join(ch.dataDir, "data", "data", DB, table);
        for (const part of await readdir(dir).catch(() => [] as string[])) {
          const m = /^[^_]+_(\d+)_(\d+)_\d+$/.exec(part);
          if (m !== null && Number(m[2]) > (synced.get(table) ?? -1)) {
            await rm(join(dir, part), { recursive: true });
            partsDropped++;
          }
        }
      }
      expect(partsDropped).toBeGreaterThan(0);
      // Part 3 (30 %) streams on while ClickHouse is down and after it is back.
      const publishing = publishJournal(nc, msgs.slice(cut2), { every: 500, ms: 50 });
      const downAt = Date.now();
      await ch.restart();
      const backAt = Date.now();
      await publishing;

      // Every row back, identical; the stream's rows too; the loss reported with its size. The
      // repair inserts table by table and reports when it is done: readings can be back before the
      // analyses are, so the comparison waits for the report.
      await waitFor(async () => incidents.filter((i) => i.kind === "store.rows-missing").length, (n) => n > 0, 120_000, "the repair's report");
      await waitFor(async () => (await chQuery(ch.url, DB, ROWS)).length, (n) => n >= msgs.length, 120_000, "every reading stored after the repair");
      const healedAt = Date.now();
      const after = await chQuery<Record<string, unknown>>(ch.url, DB, ROWS);
      const byKey = new Map(after.map((r) => [`${r.device_id}|${r.e}|${r.s}`, JSON.stringify(r)]));
      const differing = before.filter((r) => byKey.get(`${r.device_id}|${r.e}|${r.s}`) !== JSON.stringify(r));
      expect({ differing: differing.length, first: differing.slice(0, 2) }).toEqual({ differing: 0, first: [] });
      expect(after).toHaveLength(msgs.length);
      const analysesRead = await chQuery<Record<string, unknown>>(ch.url, DB, ANALYSES);
      const analysesAfter = new Set(analysesRead.map((r) => JSON.stringify(r)));
      const analysesAfterByKey = new Map(analysesRead.map((r) => [`${r.device_id}|${r.e}|${r.s}|${r.metric}`, r]));
      expect(analysesBefore.length).toBeGreaterThan(0);
      const changed = analysesBefore.filter((r) => !analysesAfter.has(JSON.stringify(r)));
      expect({ changed: changed.length, first: changed.slice(0, 2).map((r) => ({ before: r, after: analysesAfterByKey.get(`${r.device_id}|${r.e}|${r.s}|${r.metric}`) ?? "missing" })) }).toEqual({ changed: 0, first: [] });
      const lost = incidents.filter((i) => i.kind === "store.rows-missing");
      expect(lost).toHaveLength(1);
      const missing = Number(lost[0]!.detail?.missing);
      expect(missing).toBeGreaterThan(0);
      console.log(
        `ClickHouse power loss: readings published ${msgs.length}, stored after repair ${after.length} (identical: ${before.length - differing.length}/${before.length}), ` +
          `analyses identical ${analysesBefore.length}/${analysesBefore.length}, parts dropped ${partsDropped}, rows reported missing ${missing} (${JSON.stringify(lost[0]!.detail?.tables)}), ` +
          `ClickHouse down ${backAt - downAt} ms, healed ${healedAt - backAt} ms after it was back`,
      );
    } finally {
      await rt.close();
      await nc.close();
    }
  }, 300_000);
});
