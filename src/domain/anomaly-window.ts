import { vectorId } from "./vector-ids.js";

/** An anomaly: its reading's identity and the metric. */
export interface AnomalyIdentity {
  readonly deviceId: string;
  readonly epoch: number;
  readonly seq: number;
  readonly tsMs: number;
  readonly metric: string;
}

/**
 * What names an anomaly in vector ids: device, epoch, seq, metric, and the timestamp when seq is 0
 * (a counterless device's readings all have seq 0). Counted anomalies keep the ids they had before
 * timestamps were part of it, so their vectors are rewritten, not doubled.
 */
export function anomalyIdParts(k: AnomalyIdentity): (string | number)[] {
  return k.seq > 0 ? [k.deviceId, k.epoch, k.seq, k.metric] : [k.deviceId, k.epoch, 0, k.metric, k.tsMs];
}

/** Identity of an anomaly window's vector: one per anomaly, so a replay rewrites it. */
export function anomalyWindowId(k: AnomalyIdentity): string {
  return vectorId("anomaly_window", ...anomalyIdParts(k));
}

/** Identity of a text's vector: one per (kind, source key), e.g. an explanation per anomaly. */
export function textVectorId(kind: string, ...key: (string | number)[]): string {
  return vectorId("text", kind, ...key);
}
