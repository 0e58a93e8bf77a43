import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClickHouseClient } from "@clickhouse/client";
import { applyRetention, createClickHouseClient, migrate, RetentionJob, sqlRunner } from "../../src/adapters/clickhouse/index.js";
import { startClickHouse } from "../harness/index.js";
import { chQuery, waitFor } from "../support/pipeline.js";
import { insertReadings } from "../support/readings.js";

/**
 * Retention on a real ClickHouse 18.16 (no TTL): whole expired partitions dropped, the expired rows
 * of the partition at the cutoff deleted by a mutation (docs/adr/0013-rollups-and-retention.md).
 */
let ch: Awaited<ReturnType<typeof startClickHouse>>;
let client: ClickHouseClient;
const database = "retention_test";
const DAY = 86_400_000;
/** The job's "now" (fixed: the partitions below are months of 2024 and 2025). */
const NOW = Date.UTC(2025, 5, 15, 12);

beforeAll(async () => {
  ch = await startClickHouse();
  await migrate({ url: ch.url, database, username: "default", password: "" });
  client = createClickHouseClient({ url: ch.url, database, username: "default", password: "" });
}, 90_000);

afterAll(async () => {
  await client?.close();
  await ch?.cleanup();
});

const at = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
const insert = (table: string, values: Array<Record<string, unknown>>) => client.insert({ table, values, format: "JSONEachRow" });

/** What is left, per table: the dates of its rows (sorted). */
async function left(table: string, msColumn: string, where = ""): Promise<string[]> {
  const rows = await chQuery<{ d: string }>(ch.url, database, `SELECT toString(toDate(toDateTime(intDiv(${msColumn}, 1000)))) AS d FROM ${table} ${where} ORDER BY ${msColumn}`);
  return rows.map((r) => r.d);
}

/** Wait (bounded) until every mutation of the database is done. */
async function mutationsDone(): Promise<void> {
  await waitFor(() => chQuery<{ n: string }>(ch.url, database, "SELECT count() AS n FROM system.mutations WHERE database = currentDatabase() AND is_done = 0"), (r) => r[0]?.n === "0", 30_000, "mutations to finish");
}

describe("retention (real ClickHouse)", () => {
  it("drops expired partitions, deletes the expired rows at the cutoff, keeps the rest; a second run does nothing", async () => {
    const dates = ["2023-05-10", "2024-03-01", "2024-11-20", "2024-12-10", "2024-12-20", "2025-03-10", "2025-05-10", "2025-05-20", "2025-06-10"];
    await insertReadings(
      client,
      dates.map((d, i) => ({ device_id: "r", epoch: 1, seq: i, ts_ms: at(d), metric_names: ["t"], metric_values: [i], metric_scores: [0], score: 0, log: "", stream_seq: i })),
    );
    await insert("dead_letters", ["2025-04-01", "2025-05-20", "2025-06-01"].map((d) => ({ stage: "bridge", code: "x", reason: d, source: "s", payload: "", at_ms: at(d) })));
    await insert("device_events", ["2024-05-01", "2024-06-20", "2025-06-01"].map((d) => ({ device_id: "r", kind: "online", epoch: 1, at_ms: at(d), last_seq: 0, detail: "" })));
    await insert(
      "alerts",
      ["2024-01-01", "2025-06-01"].map((d, i) => ({ alert_id: `a${i}`, rule: "r", device_id: "r", metric: "t", severity: "high", state: "resolved", started_at_ms: at(d), updated_at_ms: at(d), resolved_at_ms: at(d), summary: "", detail: "", version: 1 })),
    );
    await insert(
      "reports",
      ["2019-12-31", "2021-01-01"].map((d, i) => ({ report_id: `p${i}`, kind: "daily", scope: "fleet", period_from_ms: at(d) - DAY, period_to_ms: at(d), created_at_ms: at(d), title: "", body: "", provider: "", model: "", cost_usd: 0 })),
    );
    const policy = { readings: 30 * DAY, readings_1m: 180 * DAY, readings_1h: 365 * DAY, analyses: 365 * DAY, device_events: 365 * DAY, dead_letters: 30 * DAY, alerts: 0, reports: 1825 * DAY };
    const summary = await applyRetention(sqlRunner(client), policy, { nowMs: NOW, deleteBoundary: true });
    await mutationsDone();

    // readings: cutoff 2025-05-16 — months before May 2025 dropped, 2025-05-10 deleted.
    expect(await left("readings", "ts_ms")).toEqual(["2025-05-20", "2025-06-10"]);
    // readings_1m: cutoff 2024-12-17 — Nov 2024 and older dropped, 2024-12-10 deleted.
    const bucketsLeft = async (table: string) => (await chQuery<{ d: string }>(ch.url, database, `SELECT DISTINCT toString(toDate(bucket)) AS d FROM ${table} ORDER BY d`)).map((r) => r.d);
    expect(await bucketsLeft("readings_1m")).toEqual(["2024-12-20", "2025-03-10", "2025-05-10", "2025-05-20", "2025-06-10"]);
    // readings_1h (by year): cutoff 2024-06-15 — 2023 dropped, 2024-03-01 deleted.
    expect(await bucketsLeft("readings_1h")).toEqual(["2024-11-20", "2024-12-10", "2024-12-20", "2025-03-10", "2025-05-10", "2025-05-20", "2025-06-10"]);
    expect(await left("dead_letters", "at_ms")).toEqual(["2025-05-20", "2025-06-01"]);
    expect(await left("device_events", "at_ms")).toEqual(["2024-06-20", "2025-06-01"]);
    expect(await left("alerts", "started_at_ms")).toEqual(["2024-01-01", "2025-06-01"]); // 0 = forever
    expect(await left("reports", "period_to_ms")).toEqual(["2021-01-01"]); // cutoff 2020-06-16: the 2019 partition dropped

    const dropped = summary.dropped.map((d) => `${d.table}/${d.partition}`).sort();
    expect(dropped).toEqual(
      [
        "dead_letters/202504",
        "device_events/202405",
        "readings/202305",
        "readings/202403",
        "readings/202411",
        "readings/202412",
        "readings/202503",
        "readings_1h/2023",
        "readings_1m/202305",
        "readings_1m/202403",
        "readings_1m/202411",
        "reports/2019",
      ].sort(),
    );
    expect(summary.deleted.map((d) => [d.table, d.rows]).sort()).toEqual([["readings", 1], ["readings_1h", 1], ["readings_1m", 1]]);

    const again = await applyRetention(sqlRunner(client), policy, { nowMs: NOW, deleteBoundary: true });
    expect(again).toEqual({ dropped: [], deleted: [], busy: [] });
  });

  it("the job deletes boundary rows at most every deleteEvery, and drops partitions at every run", async () => {
    let now = NOW + 40 * DAY; // readings cutoff 2025-06-25 12:00: the May partition expires, June is at the boundary
    const job = new RetentionJob(sqlRunner(client), { policy: { readings: 30 * DAY }, checkEveryMs: 3_600_000, deleteEveryMs: DAY }, () => now);
    const reading = (seq: number, day: string) => ({ device_id: "j", epoch: 1, seq, ts_ms: at(day), metric_names: [], metric_values: [], metric_scores: [], score: 0, log: "", stream_seq: 0 });
    await insert("readings", [reading(1, "2025-06-20"), reading(2, "2025-06-28")]);
    const first = await job.run();
    expect(first.dropped.map((d) => d.partition)).toEqual(["202505"]);
    expect(first.deleted).toEqual([{ table: "readings", rows: 2 }]); // 2025-06-10 and 2025-06-20
    await mutationsDone();
    expect(await left("readings", "ts_ms")).toEqual(["2025-06-28"]);
    await insert("readings", [reading(3, "2025-06-21")]);
    now += 3_600_000;
    expect(await job.run()).toEqual({ dropped: [], deleted: [], busy: [] }); // within deleteEvery of the last delete
    expect(await left("readings", "ts_ms")).toEqual(["2025-06-21", "2025-06-28"]);
    now += DAY;
    expect((await job.run()).deleted).toEqual([{ table: "readings", rows: 1 }]);
    await mutationsDone();
    expect(await left("readings", "ts_ms")).toEqual(["2025-06-28"]);
  });
});
