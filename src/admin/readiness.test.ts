import { afterEach, describe, expect, it, vi } from "vitest";
import type { PartitionLag } from "../cluster/index.js";
import { notCaughtUpReason, startReadinessProbe } from "./readiness.js";

const lag = (partition: number, pending: number): PartitionLag => ({ partition, pending, ackPending: 0, ackFloor: 0 });
const lags = (...pending: Array<number | undefined>) => new Map(pending.map((n, p) => [p, n === undefined ? undefined : lag(p, n)]));

describe("notCaughtUpReason (single-node readiness)", () => {
  it("is ready when every partition is owned and at most maxLag behind", () => {
    expect(notCaughtUpReason(3, [0, 1, 2], lags(0, 1000, 5), 1000)).toBe("");
  });
  it("names the partitions not owned", () => {
    expect(notCaughtUpReason(4, [1, 3], lags(0, 0, 0, 0), 1000)).toBe("partitions not owned: 0, 2");
  });
  it("names the partitions behind, and those whose lag is unknown", () => {
    expect(notCaughtUpReason(3, [0, 1, 2], lags(1001, undefined, 0), 1000)).toBe("partitions behind by more than 1000 messages: 0 (1001 pending), 1 (lag unknown)");
  });
});

describe("startReadinessProbe", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("keeps the last answer, re-checks every interval and reports each flip", async () => {
    vi.useFakeTimers();
    const answers = ["p0 behind", "", "", "lost p1"];
    let calls = 0;
    const flips: Array<[boolean, string]> = [];
    const probe = startReadinessProbe(() => answers[Math.min(calls++, answers.length - 1)]!, 1000, (r, why) => flips.push([r, why]));
    await vi.advanceTimersByTimeAsync(0);
    expect([probe.ready(), probe.reason()]).toEqual([false, "p0 behind"]);
    await vi.advanceTimersByTimeAsync(1000);
    expect([probe.ready(), probe.reason()]).toEqual([true, ""]);
    await vi.advanceTimersByTimeAsync(2000);
    expect([probe.ready(), probe.reason()]).toEqual([false, "lost p1"]);
    expect(flips).toEqual([
      [true, ""],
      [false, "lost p1"],
    ]);
    probe.close();
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toBe(4);
  });

  it("a failing check is not ready, with the error as the reason", async () => {
    vi.useFakeTimers();
    const probe = startReadinessProbe(async () => {
      throw new Error("nats down");
    }, 1000);
    await vi.advanceTimersByTimeAsync(0);
    expect([probe.ready(), probe.reason()]).toEqual([false, "readiness check failed: nats down"]);
    probe.close();
  });
});
