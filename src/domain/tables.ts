import type { RowSchema } from "../ports/row-sink.js";

/**
 * The columns device actors write to the time-series tables, in insert order. They must match the
 * ClickHouse migrations (src/adapters/clickhouse/migrations.ts; checked against the real server by
 * test/integration/clickhouse-migrations.test.ts). MATERIALIZED columns are not written.
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

/**
 * The readings again, for the read model's views only (rollups and device_status): a table that
 * keeps nothing (engine Null), into which the ClickHouse sink copies each accepted insert of
 * `readings` about once a second, so that an insert of fresh readings writes one part, not four
 * (docs/adr/0013-rollups-and-retention.md, decision 7).
 */
export const READINGS_FEED_TABLE = "readings_feed";

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
    // Why the anomaly fired (src/domain/anomaly-reasons.ts, JSON; "" before migration 17).
    { name: "reasons", type: "String" },
    // The incident: the (epoch, seq) of the anomaly that opened it; the row's own unless it joined
    // an open incident, when it has no explanation of its own (migration 19).
    { name: "incident_epoch", type: "UInt64" },
    { name: "incident_seq", type: "UInt64" },
    // Its timestamp: what tells a counterless device's anomalies (seq 0) apart (migration 20).
    { name: "incident_ts_ms", type: "Int64" },
  ],
};

/** An `analyses` row's anomaly as SQL, for `uniqExact(device_id, ${ANALYSIS_KEY_SQL})`: its reading (a counterless device's readings all have seq 0) and metric. */
export const ANALYSIS_KEY_SQL = "epoch, seq, ts_ms, metric";

const OWN_INCIDENT = "incident_epoch = 0 AND incident_seq = 0 AND incident_ts_ms = 0";

/**
 * An `analyses` row's incident as SQL, for `uniqExact(device_id, ${ANALYSIS_INCIDENT_SQL})`: the
 * (epoch, seq, ts_ms) of the anomaly that opened it, with ts_ms 0 when seq is not 0 (a counted
 * reading is named by its seq; older rows' incident_ts_ms is their own). All zeros reads as the
 * row's own, as the read model reads it: 18.16 fills the columns with zeros when a JSONEachRow
 * insert leaves them out.
 */
export const ANALYSIS_INCIDENT_SQL = `if(${OWN_INCIDENT}, epoch, incident_epoch), if(${OWN_INCIDENT}, seq, incident_seq), if(if(${OWN_INCIDENT}, seq, incident_seq) > 0, 0, if(${OWN_INCIDENT}, ts_ms, incident_ts_ms))`;

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

/**
 * One row per anomaly: the shape of the metric's window around the anomaly as a unit vector,
 * written once ANOMALY_WINDOW_AFTER readings followed it (src/domain/window-features.ts), for
 * similar-incident search. The vector indexer copies these into
 * the vector store; ClickHouse keeps them so the vector store can be rebuilt.
 */
export const ANOMALY_WINDOWS_TABLE = "anomaly_windows";
export const ANOMALY_WINDOWS_SCHEMA: RowSchema = {
  columns: [
    { name: "device_id", type: "String" },
    { name: "epoch", type: "UInt64" },
    { name: "seq", type: "UInt64" },
    { name: "ts_ms", type: "Int64" },
    { name: "metric", type: "String" },
    { name: "score", type: "Float64" },
    { name: "vector", type: "Array(Float64)" },
  ],
};

/**
 * Read model (docs/adr/0013-rollups-and-retention.md). Rollups of `readings` per device, metric and
 * minute / hour (AggregatingMergeTree: read with sumMerge/minMerge/maxMerge … GROUP BY), kept equal
 * to the deduplicated readings by the reconciler (src/adapters/clickhouse/rollups.ts). Columns:
 * device_id, metric, bucket (DateTime, UTC-aligned start), samples sum(Int64), min_value, max_value,
 * sum_value, sum_squares (of the value), max_score (the metric's score).
 */
export const READINGS_1M_TABLE = "readings_1m";
/** As {@link READINGS_1M_TABLE}, per hour; fed from `readings` directly, not from the minutes. */
export const READINGS_1H_TABLE = "readings_1h";
/**
 * One aggregate row per device (AggregatingMergeTree keyed by device_id): first_seen_ms/last_seen_ms
 * (min/max ts_ms), readings (sum; every row inserted, duplicates included), last_epoch/last_seq
 * (argMax by ts_ms), last_event_kind (online|offline|restarted, argMax by at_ms), last_event_at_ms.
 */
export const DEVICE_STATUS_TABLE = "device_status";

/**
 * One row per alert version (ReplacingMergeTree(version) ORDER BY alert_id: the highest version is
 * the alert's state). started_at_ms must not change between versions (it picks the partition).
 */
export const ALERTS_TABLE = "alerts";
export const ALERTS_SCHEMA: RowSchema = {
  columns: [
    { name: "alert_id", type: "String" },
    { name: "rule", type: "String" },
    { name: "device_id", type: "String" },
    { name: "metric", type: "String" },
    { name: "severity", type: "String" },
    /** firing | acknowledged | resolved | silenced */
    { name: "state", type: "String" },
    { name: "started_at_ms", type: "Int64" },
    { name: "updated_at_ms", type: "Int64" },
    { name: "resolved_at_ms", type: "Int64" },
    { name: "summary", type: "String" },
    { name: "detail", type: "String" },
    { name: "version", type: "UInt64" },
  ],
};

/**
 * One row per alert transition: the alerts' history (ReplacingMergeTree ORDER BY (device_id,
 * alert_id, version): a replay writes the same key again). See src/domain/alerts.ts.
 */
export const ALERT_TRANSITIONS_TABLE = "alert_transitions";
export const ALERT_TRANSITIONS_SCHEMA: RowSchema = {
  columns: [
    { name: "alert_id", type: "String" },
    { name: "version", type: "UInt64" },
    { name: "device_id", type: "String" },
    { name: "rule", type: "String" },
    { name: "metric", type: "String" },
    /** raised | escalated | flapping | acknowledged | resolved | cleared */
    { name: "kind", type: "String" },
    /** firing | acknowledged | resolved */
    { name: "state", type: "String" },
    { name: "severity", type: "String" },
    { name: "at_ms", type: "Int64" },
    { name: "started_at_ms", type: "Int64" },
    { name: "value", type: "Float64" },
    { name: "summary", type: "String" },
    { name: "by", type: "String" },
    { name: "reason", type: "String" },
    { name: "flapping", type: "UInt8" },
  ],
};

/** One row per generated report (ReplacingMergeTree ORDER BY (kind, scope, period_from_ms, report_id)). */
export const REPORTS_TABLE = "reports";
export const REPORTS_SCHEMA: RowSchema = {
  columns: [
    { name: "report_id", type: "String" },
    { name: "kind", type: "String" },
    { name: "scope", type: "String" },
    { name: "period_from_ms", type: "Int64" },
    { name: "period_to_ms", type: "Int64" },
    { name: "created_at_ms", type: "Int64" },
    { name: "title", type: "String" },
    { name: "body", type: "String" },
    { name: "provider", type: "String" },
    { name: "model", type: "String" },
    { name: "cost_usd", type: "Float64" },
  ],
};
