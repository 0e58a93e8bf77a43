import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { GetRuntimeStatsResponseSchema } from "../gen/shoal/v1/admin_pb.js";
import { formatRuntimeStats, run } from "./admin.command.js";

function capture() {
  const o = { out: "", err: "" };
  return { o, io: { env: {}, stdout: (s: string) => void (o.out += s), stderr: (s: string) => void (o.err += s) } };
}

describe("shoal admin", () => {
  it("formats one line per worker and the totals", () => {
    const r = create(GetRuntimeStatsResponseSchema, {
      workers: [
        { index: 0, partitions: [0, 2], activeByType: { device: 3n }, turns: 10n, turnLatency: { p50Us: 1.25, p99Us: 4, maxUs: 9 } },
        { index: 1, partitions: [], activeByType: {}, turns: 5n },
      ],
      workerRestarts: 2n,
      pendingSnapshots: 1n,
    });
    const lines = formatRuntimeStats(r).split("\n");
    expect(lines[0]!.split(/\s+/)).toEqual(["WORKER", "PARTITIONS", "ACTIVE", "MAILBOX", "MAX", "INFLIGHT", "TURNS", "ACTIVATED", "PASSIVATED", "RESTARTS", "DEAD", "SNAPSHOTS", "SKIPPED", "P50_US", "P99_US", "MAX_US"]);
    expect(lines[1]!.trim().split(/\s+/)).toEqual(["0", "0,2", "device=3", "0", "0", "0", "10", "0", "0", "0", "0", "0", "0", "1.3", "4.0", "9.0"]);
    expect(lines[2]!.trim().split(/\s+/)).toEqual(["1", "-", "0", "0", "0", "0", "5", "0", "0", "0", "0", "0", "0", "0.0", "0.0", "0.0"]);
    expect(lines[4]).toBe("workers 2  active actors 3  turns 15  worker restarts 2  pending snapshots 1");
  });

  it("rejects bad usage with exit code 2 and a precise message", async () => {
    const a = capture();
    expect(await run(["restart-worker", "x", "--admin", "127.0.0.1:1"], a.io)).toBe(2);
    expect(a.o.err.split("\n")[0]).toBe('restart-worker takes a worker index (0, 1, ...), got "x"');
    const b = capture();
    expect(await run(["frobnicate"], b.io)).toBe(2);
    expect(b.o.err.split("\n")[0]).toBe('unknown command "frobnicate"');
    const c = capture();
    expect(await run(["stats", "--timeout", "0", "--admin", "127.0.0.1:1"], c.io)).toBe(2);
    expect(c.o.err.split("\n")[0]).toBe('--timeout must be a positive whole number of ms, got "0"');
  });

  it("a process that does not answer fails with exit code 1 naming the address", async () => {
    const a = capture();
    expect(await run(["info", "--admin", "127.0.0.1:1", "--timeout", "1000"], a.io)).toBe(1);
    expect(a.o.err).toMatch(/^shoal admin info \(127\.0\.0\.1:1\): GetInfo: (UNAVAILABLE|DEADLINE_EXCEEDED): /);
  });
});
