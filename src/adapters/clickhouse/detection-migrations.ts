import { addColumnIfMissing } from "./migration-steps.js";
import type { Migration } from "./migration-steps.js";

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
];
