/**
 * NATS subject scheme (see docs/adr/0001-subjects-and-partitions.md).
 * Device ids never contain '.', '*', '>' or whitespace (validated by the bridge), so they are safe tokens.
 */

/** Prefix of the readings journal subjects. */
export const READINGS_PREFIX = "shoal.readings";

/** Subject of one reading: shoal.readings.<partition>.<deviceId>. */
export function readingSubject(partition: number, deviceId: string): string {
  return `${READINGS_PREFIX}.${partition}.${deviceId}`;
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
