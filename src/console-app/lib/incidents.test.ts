import { describe, expect, it } from "vitest";
import { incidentOpener, joinedIncident } from "./incidents.js";

const anomaly = (seq: bigint, tsMs: bigint, incident: [bigint, bigint, bigint] = [3n, seq, tsMs]) => ({ deviceId: "d", epoch: 3n, seq, tsMs, incidentEpoch: incident[0], incidentSeq: incident[1], incidentTsMs: incident[2] });

describe("incidents in the console", () => {
  it("an anomaly joined an incident another one opened: by epoch and seq, and by time when seq is 0 (no counter)", () => {
    expect(joinedIncident(anomaly(807n, 7000n, [3n, 801n, 1000n]))).toBe(true);
    expect(joinedIncident({ ...anomaly(801n, 1000n), epoch: 4n })).toBe(true);
    expect(joinedIncident(anomaly(801n, 1000n))).toBe(false);
    // Counted: the seq names the reading (an older row's incident time is its own).
    expect(joinedIncident(anomaly(807n, 7000n, [3n, 801n, 7000n]))).toBe(true);
    expect(joinedIncident(anomaly(0n, 7000n, [3n, 0n, 1000n]))).toBe(true);
    expect(joinedIncident(anomaly(0n, 7000n))).toBe(false);
  });

  it("finds the anomaly that opened the incident among those listed", () => {
    const counted = [anomaly(801n, 1000n), anomaly(807n, 7000n, [3n, 801n, 1000n])];
    expect(incidentOpener(counted[1]!, counted)).toBe(counted[0]);
    const counterless = [anomaly(0n, 1000n), anomaly(0n, 5000n), anomaly(0n, 7000n, [3n, 0n, 5000n])];
    expect(incidentOpener(counterless[2]!, counterless)).toBe(counterless[1]);
    expect(incidentOpener(anomaly(0n, 9000n, [3n, 0n, 8000n]), counterless)).toBeUndefined();
  });
});
