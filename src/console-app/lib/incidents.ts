import type { Analysis } from "../../gen/shoal/v1/query_pb.js";

type Anomaly = Pick<Analysis, "deviceId" | "epoch" | "seq" | "tsMs" | "incidentEpoch" | "incidentSeq" | "incidentTsMs">;

/**
 * An anomaly that joined an incident still open (another metric's or the device-level model's
 * alarm a few readings after the first): stored without an explanation of its own, and not an
 * incident of its own in the counts. A counterless device's anomalies all have seq 0: its time
 * tells them apart.
 */
export function joinedIncident(a: Anomaly): boolean {
  return a.incidentEpoch !== a.epoch || a.incidentSeq !== a.seq || (a.seq === 0n && a.incidentTsMs !== a.tsMs);
}

/** The anomaly that opened `a`'s incident, when it is in `list`. */
export function incidentOpener<T extends Anomaly>(a: Anomaly, list: readonly T[]): T | undefined {
  return list.find((o) => o.deviceId === a.deviceId && o.epoch === a.incidentEpoch && o.seq === a.incidentSeq && (o.seq > 0n || o.tsMs === a.incidentTsMs));
}
