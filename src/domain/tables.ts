import type { RowSchema } from "../ports/row-sink.js";

/**
 * The columns device actors write to the time-series tables, in insert order. They must match the
 * ClickHouse migrations (src/adapters/clickhouse/migrations.ts; checked against the real server by
 * test/integration/clickhouse-sink.test.ts). MATERIALIZED columns are not written.
 */

/** One row per applied reading. */
export const READINGS_TABLE = "readings";
export const READINGS_SCHEMA: RowSchema = {
  columns: [
    { name: "device_id", type: "String" },
    { name: "seq", type: "UInt64" },
    { name: "ts_ms", type: "Int64" },
    { name: "metric_names", type: "Array(String)" },
    { name: "metric_values", type: "Array(Float64)" },
    { name: "metric_scores", type: "Array(Float64)" },
    { name: "score", type: "Float64" },
    { name: "log", type: "String" },
    { name: "stream_seq", type: "UInt64" },
  ],
};

/** One row per anomaly explanation from the model gateway. */
export const ANALYSES_TABLE = "analyses";
export const ANALYSES_SCHEMA: RowSchema = {
  columns: [
    { name: "device_id", type: "String" },
    { name: "seq", type: "UInt64" },
    { name: "ts_ms", type: "Int64" },
    { name: "metric", type: "String" },
    { name: "score", type: "Float64" },
    { name: "summary", type: "String" },
    { name: "likely_cause", type: "String" },
    { name: "suggested_action", type: "String" },
    { name: "provider", type: "String" },
    { name: "model", type: "String" },
    { name: "prompt_version", type: "String" },
    { name: "cached", type: "UInt8" },
    { name: "degraded", type: "UInt8" },
    { name: "cost_usd", type: "Float64" },
  ],
};
