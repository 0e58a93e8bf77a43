import { vectorId } from "./vector-ids.js";

/** Identity of an anomaly window's vector: one per (device, epoch, seq, metric), so a replay rewrites it. */
export function anomalyWindowId(deviceId: string, epoch: number, seq: number, metric: string): string {
  return vectorId("anomaly_window", deviceId, epoch, seq, metric);
}

/** Identity of a text's vector: one per (kind, source key), e.g. an explanation per anomaly. */
export function textVectorId(kind: string, ...key: (string | number)[]): string {
  return vectorId("text", kind, ...key);
}
