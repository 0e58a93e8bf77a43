/**
 * What became of the readings one device-actor logic instance (one worker) saw, since it started.
 * Exported as metrics (shoal_device_readings_total{outcome}, shoal_device_epochs_total{cause}).
 */
export type ReadingCounters = {
  /** Applied: a row written. */
  applied: number;
  /** Already applied (redelivery, replay, a device sending twice): counted only. */
  duplicate: number;
  /** Same epoch and seq as an applied reading with another timestamp: dead-lettered. */
  conflicting_duplicate: number;
  /** A seq jump beyond maxSeqJump not (yet) confirmed: dead-lettered. */
  seq_out_of_range: number;
  /** A boot number older than the current and previous epochs: dead-lettered. */
  stale_epoch: number;
  /** Below the reorder window after gaps were forgotten: dead-lettered. */
  too_late: number;
  /** Epochs started by a new boot number / by an inferred counter restart. */
  epochsFromBoot: number;
  epochsInferred: number;
  /** Anomalies found in readings older than historicalAfterMs. */
  historicalAnomalies: number;
  /** Anomalies that joined an open incident of their device (no window, no explanation of their own). */
  anomaliesMerged: number;
  /** Alert transitions written (actors/alert), and operator commands that did not apply (e.g. the alert had cleared). */
  alertTransitions: number;
  alertCommandsRejected: number;
};

export function newReadingCounters(): ReadingCounters {
  return { applied: 0, duplicate: 0, conflicting_duplicate: 0, seq_out_of_range: 0, stale_epoch: 0, too_late: 0, epochsFromBoot: 0, epochsInferred: 0, historicalAnomalies: 0, anomaliesMerged: 0, alertTransitions: 0, alertCommandsRejected: 0 };
}
