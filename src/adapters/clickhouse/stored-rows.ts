import type { ClickHouseClient } from "@clickhouse/client";
import type { Row } from "../../ports/row-sink.js";
import { toStorageError } from "./errors.js";
import { sqlMs } from "./sql.js";

/** Tables the vectors are made of, with the rows' identity (deduplicated on read) and time column. */
const SOURCES = {
  anomaly_windows: { key: "device_id, epoch, seq, metric", cols: "any(ts_ms) AS ts_ms, any(score) AS score, any(vector) AS vector" },
  analyses: { key: "device_id, epoch, seq, metric", cols: "any(ts_ms) AS ts_ms, any(score) AS score, any(summary) AS summary, any(likely_cause) AS likely_cause, any(suggested_action) AS suggested_action" },
  readings: { key: "device_id, epoch, seq, ts_ms", cols: "any(log) AS log, any(score) AS score" },
} as const;

export type StoredSource = keyof typeof SOURCES;

/**
 * Rows of a table stored in [fromMs, toMs), deduplicated by identity, in batches of `batch` (what
 * `shoal vectors rebuild` feeds the vector indexer: the vector store is a projection of these).
 * Readings only where they carry a log line. Numbers come back as numbers.
 */
export async function* storedRows(client: ClickHouseClient, table: StoredSource, fromMs: number, toMs: number, batch = 1000): AsyncGenerator<Row[]> {
  const s = SOURCES[table];
  const where = `ts >= toDateTime(${sqlMs(Math.floor(fromMs / 1000))}) AND ts_ms >= ${sqlMs(fromMs)} AND ts_ms < ${sqlMs(toMs)}${table === "readings" ? " AND log != ''" : ""}`;
  let rs;
  try {
    rs = await client.query({ query: `SELECT ${s.key}, ${s.cols} FROM ${table} WHERE ${where} GROUP BY ${s.key}`, format: "JSONEachRow", clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } });
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
