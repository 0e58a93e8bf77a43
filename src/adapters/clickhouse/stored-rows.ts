import type { ClickHouseClient } from "@clickhouse/client";
import type { Row } from "../../ports/row-sink.js";
import { toStorageError } from "./errors.js";
import { sqlMs } from "./sql.js";

/**
 * Tables the vectors are made of, with the rows' identity (deduplicated on read) and time columns
 * (the DateTime partition column and the ms column the window is on). The window is applied in a
 * subquery, before the aggregates whose aliases would shadow the columns in 18.16's WHERE.
 */
const SOURCES = {
  anomaly_windows: { key: "device_id, epoch, seq, ts_ms, metric", cols: "any(score) AS score, any(vector) AS vector", day: "ts", ms: "ts_ms" },
  analyses: { key: "device_id, epoch, seq, ts_ms, metric", cols: "any(score) AS score, any(summary) AS summary, any(likely_cause) AS likely_cause, any(suggested_action) AS suggested_action", day: "ts", ms: "ts_ms" },
  readings: { key: "device_id, epoch, seq, ts_ms", cols: "any(log) AS log, any(score) AS score", day: "ts", ms: "ts_ms" },
  reports: { key: "report_id", cols: "any(title) AS title, any(body) AS body, any(period_to_ms) AS period_to_ms", day: "period_to", ms: "period_to_ms" },
} as const;

export type StoredSource = keyof typeof SOURCES;

/**
 * Rows of a table stored in [fromMs, toMs), deduplicated by identity, in batches of `batch` (what
 * `shoal vectors rebuild` feeds the vector indexer: the vector store is a projection of these).
 * Readings only where they carry a log line; reports by the end of their period. Numbers come back
 * as numbers.
 */
export async function* storedRows(client: ClickHouseClient, table: StoredSource, fromMs: number, toMs: number, batch = 1000): AsyncGenerator<Row[]> {
  const s = SOURCES[table];
  const where = `${s.day} >= toDateTime(${sqlMs(Math.floor(fromMs / 1000))}) AND ${s.ms} >= ${sqlMs(fromMs)} AND ${s.ms} < ${sqlMs(toMs)}${table === "readings" ? " AND log != ''" : ""}`;
  let rs;
  try {
    rs = await client.query({ query: `SELECT ${s.key}, ${s.cols} FROM (SELECT * FROM ${table} WHERE ${where}) GROUP BY ${s.key}`, format: "JSONEachRow", clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } });
  } catch (e) {
    throw toStorageError(e, `reading ${table} failed`);
  }
  let out: Row[] = [];
  for await (const rows of rs.stream()) {
    for (const r of rows) {
      out.push(r.json() as Row);
      if (out.length >= batch) {
        yield out;
        out = [];
      }
    }
  }
  if (out.length > 0) yield out;
}
