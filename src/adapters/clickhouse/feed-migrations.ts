import { READINGS_FEED_TABLE } from "../../domain/tables.js";
import type { Migration } from "./migration-steps.js";
import { deviceStatusView, rollupView } from "./read-model-migrations.js";

/**
 * Migration 18: the read model's views move from `readings` to `readings_feed`
 * (docs/adr/0013-rollups-and-retention.md, decision 7). Released migrations are never edited; add a
 * new one.
 *
 * `readings_feed` has the columns of `readings` and keeps nothing (engine Null); its views fill
 * readings_1m, readings_1h and device_status. The new views exist before the old ones go, so no insert
 * is seen by neither: one made in between by a process that also feeds is counted twice in the
 * rollups, which the reconciler undoes. A table added to `readings` later must be added here too.
 */
export const feedMigrations: readonly Migration[] = [
  {
    version: 18,
    name: "read model views on readings_feed",
    statements: [
      `CREATE TABLE IF NOT EXISTS ${READINGS_FEED_TABLE} AS readings ENGINE = Null`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS readings_feed_1m_mv TO readings_1m AS ${rollupView(60, READINGS_FEED_TABLE)}`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS readings_feed_1h_mv TO readings_1h AS ${rollupView(3600, READINGS_FEED_TABLE)}`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS device_status_feed_mv TO device_status AS ${deviceStatusView(READINGS_FEED_TABLE)}`,
      "DROP TABLE IF EXISTS readings_1m_mv",
      "DROP TABLE IF EXISTS readings_1h_mv",
      "DROP TABLE IF EXISTS device_status_readings_mv",
    ],
  },
];
