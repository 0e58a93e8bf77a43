import { describe, expect, it } from "vitest";
import { joinedIncident } from "./incidents.js";

describe("joinedIncident", () => {
  it("is an anomaly whose incident was opened by another one (by epoch and seq)", () => {
    expect(joinedIncident({ epoch: 3n, seq: 807n, incidentEpoch: 3n, incidentSeq: 801n })).toBe(true);
    expect(joinedIncident({ epoch: 4n, seq: 801n, incidentEpoch: 3n, incidentSeq: 801n })).toBe(true);
    expect(joinedIncident({ epoch: 3n, seq: 801n, incidentEpoch: 3n, incidentSeq: 801n })).toBe(false);
  });
});
