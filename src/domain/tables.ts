import type { RowSchema } from "../ports/row-sink.js";

/**
 * The columns device actors write to the time-series tables, in insert order. They must match the
 * ClickHouse migrations (src/adapters/clickhouse/migrations.ts; checked against the real server by
 * test/integration/clickhouse-sink.test.ts). MATERIALIZED columns are not written.
 */

/**
 * One row per applied reading, keyed (device_id, epoch, seq, ts_ms): readings of two epochs never
 * merge; readings without seq (seq 0) are told apart by their timestamp (docs/adr/0011-sequence-model.md).
 */
export const READINGS_TABLE = "readings";
export const READINGS_SCHEMA: RowSchema = {
  columns: [
    { name: "device_id", type: "String" },
    { name: "epoch", type: "UInt64" },
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
    { name: "epoch", type: "UInt64" },
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

/** One row per device lifecycle event: online, offline, restarted (a new epoch). */
export const DEVICE_EVENTS_TABLE = "device_events";
export const DEVICE_EVENTS_SCHEMA: RowSchema = {
  columns: [
    { name: "device_id", type: "String" },
    { name: "kind", type: "String" },
    { name: "epoch", type: "UInt64" },
    { name: "at_ms", type: "Int64" },
    { name: "last_seq", type: "UInt64" },
    { name: "detail", type: "String" },
  ],
};

/** Dead letters written by actors (stage "runtime"), with the bridge's in the DLQ stream. */
export const DEAD_LETTERS_TABLE = "dead_letters";
