import { describe, expect, it } from "vitest";
import { SimClock } from "../base/testing/sim-clock.js";
import { createIncidentReporter } from "./incidents.js";

describe("incident reporter", () => {
  it("logs at error level, publishes an event and stays degraded for its window", () => {
    const clock = new SimClock(1_000_000);
    const lines: unknown[] = [];
    const events: Record<string, unknown>[] = [];
    const noop = () => {};
    const r = createIncidentReporter({
      log: { debug: noop, info: noop, warn: noop, error: (f: unknown, m?: string) => lines.push([f, m]) },
      clock,
      publish: (e) => events.push(e),
      role: "runtime",
      degradedForMs: 10_000,
    });
    expect(r.degradedReason()).toBe("");
    r.report({ kind: "journal.stream-missing", message: "stream READINGS was missing; re-created", detail: { stream: "READINGS" } });
    expect(lines).toEqual([[{ incident: "journal.stream-missing", stream: "READINGS" }, "stream READINGS was missing; re-created"]]);
    expect(events).toEqual([{ kind: "journal.stream-missing", role: "runtime", atMs: 1_000_000, message: "stream READINGS was missing; re-created", detail: { stream: "READINGS" } }]);
    clock.advanceSync(3_000);
    expect(r.degradedReason()).toBe("degraded: journal.stream-missing 3s ago");
    clock.advanceSync(7_000);
    expect(r.degradedReason()).toBe("");
    expect(r.total).toBe(1);
  });

  it("a failing publish does not lose the log line", () => {
    const lines: unknown[] = [];
    const noop = () => {};
    const r = createIncidentReporter({
      log: { debug: noop, info: noop, warn: noop, error: (f: unknown) => lines.push(f) },
      clock: new SimClock(0),
      publish: () => {
        throw new Error("connection closed");
      },
      role: "bridge",
    });
    r.report({ kind: "journal.publish-stalled", message: "x" });
    expect(lines).toHaveLength(1);
  });
});
