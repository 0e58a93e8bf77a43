/**
 * NATS subject scheme (docs/adr/0001-ingest-path.md, docs/adr/0009-batched-journal.md).
 * Device ids never contain '.', '*', '>' or whitespace (validated by the bridge), so they are safe tokens.
 */

/** Prefix of the readings journal subjects. */
export const READINGS_PREFIX = "shoal.readings";

/**
 * Subject of one reading: shoal.readings.<partition>.<deviceId>. The bridge no longer publishes
 * single readings (see {@link journalSubject}); journals written before batching hold these.
 */
export function readingSubject(partition: number, deviceId: string): string {
  return `${READINGS_PREFIX}.${partition}.${deviceId}`;
}

/** Subject of a journal message of partition `partition` (a batch of its readings): shoal.readings.<p>.batch. */
export function journalSubject(partition: number): string {
  return `${READINGS_PREFIX}.${partition}.batch`;
}

/** Filter subject of one partition's consumer. */
export function partitionFilter(partition: number): string {
  return `${READINGS_PREFIX}.${partition}.>`;
}

/** Dead-letter subject of a pipeline stage (bridge, runtime, sink, gateway). */
export function dlqSubject(stage: string): string {
  return `shoal.dlq.${stage}`;
}

/** Analysis events of one device. */
export function analysisSubject(deviceId: string): string {
  return `shoal.analysis.${deviceId}`;
}

/** Device lifecycle events (online/offline) of one device. */
export function deviceEventSubject(deviceId: string): string {
  return `shoal.events.device.${deviceId}`;
}

/** Consumer name of a partition: shoal-p007. */
export function partitionConsumerName(partition: number): string {
  return `shoal-p${String(partition).padStart(3, "0")}`;
}

/** The platform's own events: incidents of the journal, the store and the pipeline (JSON). */
export const PLATFORM_EVENTS_SUBJECT = "shoal.events.platform";

/** Prefix of the alert transitions' subjects (the SHOAL_ALERTS JetStream stream). */
export const ALERTS_PREFIX = "shoal.alerts";

/** Alert transitions of one device: shoal.alerts.<deviceId> (docs/adr/0016-alerts.md). */
export function alertSubject(deviceId: string): string {
  return `${ALERTS_PREFIX}.${deviceId}`;
}

/** Subject of an operator command in a partition's journal: shoal.readings.<p>.command. */
export function commandSubject(partition: number): string {
  return `${READINGS_PREFIX}.${partition}.command`;
}
