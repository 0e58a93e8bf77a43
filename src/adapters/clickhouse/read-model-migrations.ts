import type { Migration } from "./migration-steps.js";
import { backfillDeviceStatus, backfillRollups } from "./rollups.js";

/**
 * Migrations 10+ (the read model: docs/adr/0013-rollups-and-retention.md), appended to the list in
 * migrations.ts. Released migrations are never edited; add a new one.
 *
 * 18.16 notes: a materialized view writing `TO` a table must produce every column of it (current
 * releases fill the missing ones with defaults), hence the `…StateIf(x, 0)` empty states in the
 * device_status views; a view that throws fails the insert into `readings` after the readings' part
 * is written (the sink retries: duplicates), so the views index arrays safely (`a[i]` out of range
 * is 0) instead of ARRAY JOINing three arrays whose sizes might differ.
 *
 * Migration 18 (feed-migrations.ts) moves the views on `readings` to `readings_feed`.
 */

/** The SELECT of a readings rollup view: one row per (device, metric, bucket of `seconds`) of an insert into `source`. */
export function rollupView(seconds: number, source = "readings"): string {
  return `SELECT device_id, metric_names[i] AS metric, toDateTime(intDiv(ts_ms, ${seconds * 1000}) * ${seconds}) AS bucket,
      sumState(toInt64(1)) AS samples, minState(metric_values[i]) AS min_value, maxState(metric_values[i]) AS max_value,
      sumState(metric_values[i]) AS sum_value, sumState(metric_values[i] * metric_values[i]) AS sum_squares,
      maxState(metric_scores[i]) AS max_score
    FROM ${source} ARRAY JOIN arrayEnumerate(metric_names) AS i
    GROUP BY device_id, metric, bucket`;
}

function rollupTable(name: string, partitionBy: string): string {
  return `CREATE TABLE IF NOT EXISTS ${name} (
        device_id String,
        metric String,
        bucket DateTime,
        samples AggregateFunction(sum, Int64),
        min_value AggregateFunction(min, Float64),
        max_value AggregateFunction(max, Float64),
        sum_value AggregateFunction(sum, Float64),
        sum_squares AggregateFunction(sum, Float64),
        max_score AggregateFunction(max, Float64)
      ) ENGINE = AggregatingMergeTree
      PARTITION BY ${partitionBy}
      ORDER BY (device_id, metric, bucket)`;
}

/** The SELECT of the view filling device_status from the readings inserted into `source`. */
export function deviceStatusView(source = "readings"): string {
  return `SELECT device_id, minState(ts_ms) AS first_seen_ms, maxState(ts_ms) AS last_seen_ms, sumState(toInt64(1)) AS readings,
          argMaxState(epoch, ts_ms) AS last_epoch, argMaxState(seq, ts_ms) AS last_seq,
          argMaxStateIf('', ts_ms, 0) AS last_event_kind, maxStateIf(ts_ms, 0) AS last_event_at_ms
        FROM ${source} GROUP BY device_id`;
}

export const readModelMigrations: readonly Migration[] = [
  {
    // Samples are a sum of 1 (not countState) so that the reconciler can insert negative corrections.
    version: 10,
    name: "readings rollups",
    statements: [
      rollupTable("readings_1m", "toYYYYMM(bucket)"),
      rollupTable("readings_1h", "toYear(bucket)"),
      `CREATE MATERIALIZED VIEW IF NOT EXISTS readings_1m_mv TO readings_1m AS ${rollupView(60)}`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS readings_1h_mv TO readings_1h AS ${rollupView(3600)}`,
    ],
    apply: backfillRollups,
  },
  {
    version: 11,
    name: "device_status",
    statements: [
      `CREATE TABLE IF NOT EXISTS device_status (
        device_id String,
        first_seen_ms AggregateFunction(min, Int64),
        last_seen_ms AggregateFunction(max, Int64),
        readings AggregateFunction(sum, Int64),
        last_epoch AggregateFunction(argMax, UInt64, Int64),
        last_seq AggregateFunction(argMax, UInt64, Int64),
        last_event_kind AggregateFunction(argMax, String, Int64),
        last_event_at_ms AggregateFunction(max, Int64)
      ) ENGINE = AggregatingMergeTree
      ORDER BY device_id`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS device_status_readings_mv TO device_status AS ${deviceStatusView()}`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS device_status_events_mv TO device_status AS
        SELECT device_id, minStateIf(at_ms, 0) AS first_seen_ms, maxStateIf(at_ms, 0) AS last_seen_ms, sumStateIf(toInt64(0), 0) AS readings,
          argMaxStateIf(epoch, at_ms, 0) AS last_epoch, argMaxStateIf(last_seq, at_ms, 0) AS last_seq,
          argMaxState(kind, at_ms) AS last_event_kind, maxState(at_ms) AS last_event_at_ms
        FROM device_events GROUP BY device_id`,
    ],
    apply: backfillDeviceStatus,
  },
  {
    version: 12,
    name: "alerts and reports",
    statements: [
      `CREATE TABLE IF NOT EXISTS alerts (
        alert_id String,
        rule String,
        device_id String,
        metric String,
        severity String,
        state String,
        started_at_ms Int64,
        updated_at_ms Int64,
        resolved_at_ms Int64,
        summary String,
        detail String,
        version UInt64,
        started_at DateTime MATERIALIZED toDateTime(intDiv(started_at_ms, 1000))
      ) ENGINE = ReplacingMergeTree(version)
      PARTITION BY toYYYYMM(started_at)
      ORDER BY alert_id`,
      `CREATE TABLE IF NOT EXISTS reports (
        report_id String,
        kind String,
        scope String,
        period_from_ms Int64,
        period_to_ms Int64,
        created_at_ms Int64,
        title String,
        body String,
        provider String,
        model String,
        cost_usd Float64,
        period_to DateTime MATERIALIZED toDateTime(intDiv(period_to_ms, 1000))
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toYear(period_to)
      ORDER BY (kind, scope, period_from_ms, report_id)`,
    ],
  },
];
