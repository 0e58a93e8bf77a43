import { addColumnIfMissing, rekey } from "./migration-steps.js";
import type { Migration } from "./migration-steps.js";

/** Migration 20's columns shared by `analyses` and `anomaly_windows` (an anomaly: its reading, metric and score), frozen with it. */
const ANOMALY_COLUMNS_20 = `device_id String,
        epoch UInt64,
        seq UInt64,
        ts_ms Int64,
        metric String,
        score Float64`;
const STAMPS_20 = `ts DateTime MATERIALIZED toDateTime(intDiv(ts_ms, 1000)),
        ingested_at DateTime MATERIALIZED now()`;
const ORDER_BY_20 = "ORDER BY (device_id, epoch, seq, ts_ms, metric)";

/**
 * Migrations of anomaly detection's outputs (docs/adr/0022-device-level-detection.md), appended
 * after the audit log's. Released migrations are never edited; add a new one.
 */
export const detectionMigrations: readonly Migration[] = [
  {
    // Why each anomaly fired (src/domain/anomaly-reasons.ts, a JSON array): the metrics and the
    // detector term (range, discord, season, joint, outlier). Rows written before hold "".
    version: 17,
    name: "analyses.reasons",
    statements: [],
    apply: (db) => addColumnIfMissing(db, "analyses", "reasons", "String DEFAULT ''"),
  },
  {
    // The incident an anomaly belongs to: the (epoch, seq) of the anomaly that opened it, its own
    // unless it joined an incident still open (device.actor.ts, openIncident). Rows written before
    // read as their own (the default is computed from the row's columns).
    version: 19,
    name: "analyses.incident",
    statements: [],
    apply: async (db) => {
      await addColumnIfMissing(db, "analyses", "incident_epoch", "UInt64 DEFAULT epoch");
      await addColumnIfMissing(db, "analyses", "incident_seq", "UInt64 DEFAULT seq");
    },
  },
  {
    // An anomaly is a reading's, and a reading is (device, epoch, seq, ts_ms): a device without a
    // counter sends seq 0, so keyed without ts_ms its anomalies of one metric were one row once
    // merged (the newest kept), counted once, and their windows one vector. Both tables keyed like
    // readings, plus the metric. The incident's ts_ms names a counterless device's opening anomaly;
    // with a counter (seq > 0) its (epoch, seq) is enough, so older rows take their own ts_ms.
    version: 20,
    name: "analyses and anomaly_windows keyed by ts_ms",
    statements: [],
    apply: async (db) => {
      await rekey(
        "analyses",
        `${ANOMALY_COLUMNS_20},
        summary String,
        likely_cause String,
        suggested_action String,
        provider String,
        model String,
        prompt_version String,
        cached UInt8,
        degraded UInt8,
        cost_usd Float64,
        reasons String DEFAULT '',
        incident_epoch UInt64 DEFAULT epoch,
        incident_seq UInt64 DEFAULT seq,
        incident_ts_ms Int64 DEFAULT ts_ms,
        ${STAMPS_20}`,
        ORDER_BY_20,
        "device_id, epoch, seq, ts_ms, metric, score, summary, likely_cause, suggested_action, provider, model, prompt_version, cached, degraded, cost_usd, reasons, incident_epoch, incident_seq, ts_ms",
      )(db);
      await rekey(
        "anomaly_windows",
        `${ANOMALY_COLUMNS_20},
        vector Array(Float64),
        ${STAMPS_20}`,
        ORDER_BY_20,
        "device_id, epoch, seq, ts_ms, metric, score, vector",
      )(db);
    },
  },
];
