import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClickHouseClient } from "@clickhouse/client";
import { createClickHouseClient, migrate } from "../../src/adapters/clickhouse/index.js";
import { storedRows, type StoredSource } from "../../src/adapters/clickhouse/stored-rows.js";
import { startClickHouse } from "../harness/index.js";

/**
 * What `shoal vectors rebuild` reads (src/adapters/clickhouse/stored-rows.ts) on a real ClickHouse
 * 18.16: each source table's rows in a time window, once per identity however often a replay or a
 * repair inserted them, reports by the end of their period.
 */
let ch: Awaited<ReturnType<typeof startClickHouse>>;
let client: ClickHouseClient;
const database = "stored_rows_test";
const T = Date.UTC(2026, 10, 1, 12);
const HOUR = 3_600_000;

beforeAll(async () => {
  ch = await startClickHouse();
  await migrate({ url: ch.url, database, username: "default", password: "" });
  client = createClickHouseClient({ url: ch.url, database, username: "default", password: "" });
  const insert = (table: string, values: Array<Record<string, unknown>>) => client.insert({ table, values, format: "JSONEachRow" });
  const twice = <R>(rows: R[]) => [...rows, ...rows];
  await insert("anomaly_windows", twice([0, 1, 5].map((h) => ({ device_id: "d1", epoch: 0, seq: h + 1, ts_ms: T + h * HOUR, metric: "t", score: 0.95, vector: [1, 2, 3] }))));
  await insert("analyses", twice([0, 5].map((h) => ({ device_id: "d1", epoch: 0, seq: h + 1, ts_ms: T + h * HOUR, metric: "t", score: 0.97, summary: `s${h}`, likely_cause: "c", suggested_action: "a", provider: "local", model: "m", cost_usd: 0, cached: 0 }))));
  await insert("readings", twice([0, 1].map((h) => ({ device_id: "d1", epoch: 0, seq: h + 1, ts_ms: T + h * HOUR, metric_names: ["t"], metric_values: [1], metric_scores: [0], score: 0, log: h === 0 ? "pump started" : "", stream_seq: h + 1 }))));
  await insert("reports", twice([0, 6].map((h) => ({ report_id: `fleet-hourly/${new Date(T + h * HOUR).toISOString()}`, kind: "fleet-hourly", scope: "fleet", period_from_ms: T + h * HOUR, period_to_ms: T + (h + 1) * HOUR, created_at_ms: T + (h + 2) * HOUR, title: `report ${h}`, body: "figures", provider: "local", model: "m", cost_usd: 0 }))));
}, 90_000);

afterAll(async () => {
  await client?.close();
  await ch?.cleanup();
});

async function read(table: StoredSource, fromMs: number, toMs: number): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const batch of storedRows(client, table, fromMs, toMs, 2)) out.push(...batch);
  return out;
}

describe("stored rows for a vector rebuild", () => {
  it("gives each identity once, within the window, in batches", async () => {
    const windows = await read("anomaly_windows", T, T + 2 * HOUR);
    expect(windows.map((r) => [r.seq, r.ts_ms, r.vector]).sort()).toEqual([
      [1, T, [1, 2, 3]],
      [2, T + HOUR, [1, 2, 3]],
    ]);
    expect((await read("analyses", T, T + 6 * HOUR)).map((r) => r.summary).sort()).toEqual(["s0", "s5"]);
    // Readings only where they carry a log line.
    expect((await read("readings", T, T + 6 * HOUR)).map((r) => r.log)).toEqual(["pump started"]);
  });

  it("reads reports by the end of their period, with what the indexer embeds (title, body, period end)", async () => {
    const reports = await read("reports", T, T + 3 * HOUR);
    expect(reports).toEqual([{ report_id: `fleet-hourly/${new Date(T).toISOString()}`, title: "report 0", body: "figures", period_to_ms: T + HOUR }]);
    expect((await read("reports", T, T + 8 * HOUR)).map((r) => r.title).sort()).toEqual(["report 0", "report 6"]);
  });
});
