import { describe, expect, it } from "vitest";
import { AlertEngine } from "./engine.js";
import { DEFAULT_RULES, Device, rule } from "./harness.js";

describe("score rule: hysteresis and de-duplication", () => {
  it("raises at raiseAt, holds between the levels, clears below clearAt, one open alert at a time", () => {
    const d = new Device(new AlertEngine([rule.score({ raiseAt: 0.9, clearAt: 0.5 })]));
    expect(d.score(1_000, 0.89)).toEqual([]);
    const [raised] = d.score(2_000, 0.97);
    expect(raised).toMatchObject({ alertId: "dev-1/anomaly/1", version: 1, kind: "raised", state: "firing", severity: "warning", metric: "temp", atMs: 2_000, startedAtMs: 2_000, value: 0.97, summary: "score 0.97 ≥ 0.9 on temp", by: "", reason: "", flapping: false });
    expect(d.score(3_000, 0.95)).toEqual([]); // still raised: no second alert
    expect(d.score(4_000, 0.7)).toEqual([]); // between the levels
    expect(d.score(5_000, 0.5)).toEqual([]); // clearAt itself does not clear (< clearAt)
    expect(d.engine.open(d.st)).toEqual([{ alertId: "dev-1/anomaly/1", rule: "anomaly", state: "firing", severity: "warning" }]);
    const [cleared] = d.score(6_000, 0.3);
    expect(cleared).toMatchObject({ alertId: "dev-1/anomaly/1", version: 2, kind: "cleared", state: "resolved", atMs: 6_000, startedAtMs: 2_000, value: 0.3, summary: "score 0.3 < 0.5 on temp" });
    expect(d.score(7_000, 0.7)).toEqual([]);
    expect(d.score(8_000, 0.9).map((t) => [t.alertId, t.kind])).toEqual([["dev-1/anomaly/2", "raised"]]);
    expect(d.engine.open(d.st)).toHaveLength(1);
  });

  it("names the metric with the best score, or takes a named metric's own score", () => {
    const any = new Device(new AlertEngine([rule.score()]));
    expect(any.reading(0, { temp: 20, hum: 50 }, { temp: 0.2, hum: 0.95 })[0]).toMatchObject({ metric: "hum", value: 0.95 });
    const named = new Device(new AlertEngine([rule.score({ metric: "temp" })]));
    expect(named.reading(0, { temp: 20, hum: 50 }, { temp: 0.2, hum: 0.95 })).toEqual([]);
    expect(named.reading(1, { temp: 20, hum: 50 }, { temp: 0.93, hum: 0.1 })[0]).toMatchObject({ metric: "temp", value: 0.93 });
    expect(named.reading(2, { hum: 50 }, { hum: 0 })).toEqual([]); // no temp: the rule is not touched
    expect(named.reading(3, { temp: 20 }, { temp: 0.1 })[0]).toMatchObject({ kind: "cleared" });
  });

  it("returns undefined without transitions while nothing is tracked and the best score is low", () => {
    const d = new Device(new AlertEngine(DEFAULT_RULES));
    for (let t = 0; t < 100; t++) d.score(t, 0.5);
    expect(d.st).toBeUndefined();
    expect(d.out).toEqual([]);
  });
});

describe("minimum durations", () => {
  it("raises once the condition held forMs, every reading in between meeting it", () => {
    const d = new Device(new AlertEngine([rule.score({ forMs: 10_000 })]));
    expect(d.score(0, 0.95)).toEqual([]);
    expect(d.st).toBeDefined(); // pending
    expect(d.score(9_999, 0.95)).toEqual([]);
    expect(d.score(10_000, 0.95)[0]).toMatchObject({ kind: "raised", atMs: 10_000, startedAtMs: 10_000 });
  });

  it("a clear reading resets the pending raise (and the state goes back to nothing)", () => {
    const d = new Device(new AlertEngine([rule.score({ forMs: 10_000 })]));
    d.score(0, 0.95);
    d.score(5_000, 0.3);
    expect(d.st).toBeUndefined();
    d.score(8_000, 0.95);
    expect(d.score(15_000, 0.95)).toEqual([]); // 7 s since the restart
    expect(d.score(18_000, 0.95)[0]).toMatchObject({ kind: "raised", atMs: 18_000 });
  });

  it("a reading between the levels neither resets nor completes a pending raise", () => {
    const d = new Device(new AlertEngine([rule.score({ forMs: 10_000 })]));
    d.score(0, 0.95);
    expect(d.score(12_000, 0.7)).toEqual([]);
    expect(d.score(12_001, 0.95)[0]).toMatchObject({ kind: "raised", atMs: 12_001 });
  });

  it("clears once the clear condition held clearForMs; a raise-level reading restarts the clear timer", () => {
    const d = new Device(new AlertEngine([rule.score({ clearForMs: 60_000 })]));
    d.score(0, 0.95);
    expect(d.score(1_000, 0.1)).toEqual([]);
    expect(d.score(60_999, 0.1)).toEqual([]);
    expect(d.score(61_000, 0.95)).toEqual([]); // restarts the timer
    expect(d.score(62_000, 0.1)).toEqual([]);
    expect(d.score(121_999, 0.2)).toEqual([]);
    expect(d.score(122_000, 0.2)[0]).toMatchObject({ kind: "cleared", version: 2, atMs: 122_000 });
  });
});

describe("threshold rules", () => {
  it("above: raises at >= raiseAt, clears below clearAt", () => {
    const d = new Device(new AlertEngine([rule.threshold({ op: "above", raiseAt: 40, clearAt: 38 })]));
    expect(d.reading(0, { temp: 39.9 })).toEqual([]);
    expect(d.st).toBeUndefined();
    expect(d.reading(1, { temp: 40 })[0]).toMatchObject({ kind: "raised", metric: "temp", value: 40, summary: "temp 40 ≥ 40" });
    expect(d.reading(2, { temp: 38 })).toEqual([]);
    expect(d.reading(3, { hum: 0 })).toEqual([]);
    expect(d.reading(4, { temp: 37.5 })[0]).toMatchObject({ kind: "cleared", summary: "temp 37.5 < 38" });
  });

  it("below: raises at <= raiseAt, clears above clearAt", () => {
    const d = new Device(new AlertEngine([rule.threshold({ id: "cold", op: "below", raiseAt: 5, clearAt: 7 })]));
    expect(d.reading(0, { temp: 5.1 })).toEqual([]);
    expect(d.reading(1, { temp: 5 })[0]).toMatchObject({ alertId: "dev-1/cold/1", kind: "raised", summary: "temp 5 ≤ 5" });
    expect(d.reading(2, { temp: 7 })).toEqual([]);
    expect(d.reading(3, { temp: 7.25 })[0]).toMatchObject({ kind: "cleared", summary: "temp 7.25 > 7" });
  });
});

describe("offline rule", () => {
  it("raises when the device goes offline (once), clears at the next reading's time", () => {
    const d = new Device(new AlertEngine(DEFAULT_RULES));
    expect(d.offline(100_000)[0]).toMatchObject({ alertId: "dev-1/offline/1", kind: "raised", metric: "", summary: "offline", atMs: 100_000, value: 0 });
    expect(d.offline(200_000)).toEqual([]);
    expect(d.score(150_000, 0.1)[0]).toMatchObject({ kind: "cleared", state: "resolved", version: 2, atMs: 150_000, summary: "online again" });
    expect(d.engine.open(d.st)).toEqual([]);
    expect(d.offline(300_000)[0]).toMatchObject({ alertId: "dev-1/offline/2", kind: "raised" });
  });

  it("never escalates (escalation needs readings, which clear it)", () => {
    const d = new Device(new AlertEngine([rule.offline({ escalateAfterMs: 1_000, clearForMs: 60_000 })]));
    d.offline(0);
    expect(d.score(5_000, 0.1)).toEqual([]);
    expect(d.score(65_000, 0.1).map((t) => t.kind)).toEqual(["cleared"]);
  });

  it("an engine without offline rules leaves the state alone", () => {
    const e = new AlertEngine([rule.score()]);
    expect(e.onOffline(undefined, "d", 0, [])).toBeUndefined();
  });
});

describe("no-data rule", () => {
  it("raises when a metric seen before is absent for afterMs, clears when it returns", () => {
    const d = new Device(new AlertEngine([rule.noData({ afterMs: 300_000 })]));
    expect(d.reading(0, { temp: 1 })).toEqual([]);
    expect(d.st).toBeUndefined(); // never seen: nothing tracked
    d.reading(1_000, { temp: 1, hum: 50 });
    expect(d.reading(300_999, { temp: 1 })).toEqual([]);
    const [raised] = d.reading(301_000, { temp: 1 });
    expect(raised).toMatchObject({ alertId: "dev-1/no-hum/1", kind: "raised", metric: "hum", value: 300_000, summary: "no hum for 5m0s" });
    expect(d.reading(400_000, { temp: 1 })).toEqual([]);
    expect(d.reading(401_000, { hum: 1 })[0]).toMatchObject({ kind: "cleared", summary: "hum back", atMs: 401_000 });
    expect(d.reading(500_000, { temp: 1 })).toEqual([]); // 99 s since seen
  });
});

describe("escalation", () => {
  it("goes one severity up per escalateAfterMs of later readings, never past critical", () => {
    const d = new Device(new AlertEngine([rule.score({ severity: "info", escalateAfterMs: 60_000 })]));
    d.score(0, 0.95);
    expect(d.score(59_999, 0.95)).toEqual([]);
    expect(d.score(60_000, 0.7)[0]).toMatchObject({ kind: "escalated", version: 2, severity: "warning", state: "firing", startedAtMs: 0, summary: "unacknowledged for 1m0s: info → warning" });
    expect(d.score(119_999, 0.95)).toEqual([]);
    expect(d.score(120_000, 0.95)[0]).toMatchObject({ kind: "escalated", version: 3, severity: "critical" });
    expect(d.score(500_000, 0.95)).toEqual([]);
    expect(d.engine.open(d.st)[0]!.severity).toBe("critical");
  });

  it("counts readings that do not concern the rule", () => {
    const d = new Device(new AlertEngine([rule.threshold({ escalateAfterMs: 1_000 })]));
    d.reading(0, { temp: 50 });
    expect(d.reading(1_000, { hum: 1 })[0]).toMatchObject({ kind: "escalated", severity: "critical", value: 0 });
  });

  it("stops once acknowledged", () => {
    const d = new Device(new AlertEngine([rule.score({ severity: "info", escalateAfterMs: 60_000 })]));
    d.score(0, 0.95);
    expect(d.command("acknowledge", "dev-1/anomaly/1", 1_000).error).toBe("");
    expect(d.score(60_000, 0.95)).toEqual([]);
    expect(d.score(600_000, 0.95)).toEqual([]);
    expect(d.kinds()).toEqual(["raised@1", "acknowledged@2"]);
  });
});
