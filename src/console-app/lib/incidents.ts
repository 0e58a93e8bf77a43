import type { Analysis } from "../../gen/shoal/v1/query_pb.js";

/**
 * An anomaly that joined an incident still open (another metric's or the device-level model's
 * alarm a few readings after the first): stored without an explanation of its own, and not an
 * incident of its own in the counts.
 */
export function joinedIncident(a: Pick<Analysis, "epoch" | "seq" | "incidentEpoch" | "incidentSeq">): boolean {
  return a.incidentEpoch !== a.epoch || a.incidentSeq !== a.seq;
}
