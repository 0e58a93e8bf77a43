import { describe, expect, it } from "vitest";
import type { HostIntrospection } from "../ports/actor-host.js";
import { runtimeStatsToPb } from "./runtime-stats.js";

describe("runtimeStatsToPb", () => {
  it("maps every WorkerStats field and the host-wide counters", () => {
    const view: HostIntrospection = {
      workers: [
        {
          worker: 1,
          partitions: [1, 3],
          activeByType: { device: 12, alarm: 1 },
          mailboxDepth: 7,
          maxMailboxDepth: 4,
          inFlight: 9,
          turns: 1234,
          activations: 13,
          passivations: 2,
          restarts: 1,
          deadLetters: 3,
          snapshots: 5,
          skipped: 6,
          configVersion: "v7",
          turnLatencyUs: { p50: 0.5, p99: 25.25, max: 310 },
          logicCounters: { device: { applied: 7, duplicate: 2 } },
        },
      ],
      workerRestarts: 2,
      pendingSnapshots: 4,
    };
    const pb = runtimeStatsToPb(view);
    expect(pb.workerRestarts).toBe(2n);
    expect(pb.pendingSnapshots).toBe(4n);
    expect(pb.workers).toHaveLength(1);
    const w = pb.workers[0]!;
    expect(w).toMatchObject({
      $typeName: "shoal.v1.WorkerStats",
      index: 1,
      partitions: [1, 3],
      activeByType: { device: 12n, alarm: 1n },
      mailboxDepth: 7n,
      maxMailboxDepth: 4n,
      inFlight: 9n,
      turns: 1234n,
      activations: 13n,
      passivations: 2n,
      restarts: 1n,
      deadLetters: 3n,
      snapshots: 5n,
      skipped: 6n,
      configVersion: "v7",
      turnLatency: { p50Us: 0.5, p99Us: 25.25, maxUs: 310 },
    });
  });

  it("an empty host has no workers", () => {
    expect(runtimeStatsToPb({ workers: [], workerRestarts: 0, pendingSnapshots: 0 }).workers).toEqual([]);
  });
});
