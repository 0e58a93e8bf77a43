import { describe, expect, it } from "vitest";
import { AlertEngine } from "./engine.js";
import { Device, rule } from "./harness.js";

describe("flap suppression", () => {
  const flappy = () => new Device(new AlertEngine([rule.score({ flap: { windowMs: 60_000, maxChanges: 4 } })]));

  it("alternating input: one flapping transition, quiet while it flaps, cleared after a clear flap window", () => {
    const d = flappy();
    for (let i = 0; i < 30; i++) d.score(i * 1_000, i % 2 === 0 ? 0.95 : 0.1);
    // raise, clear, raise; the clear that would be the 4th change holds the alert open as flapping
    expect(d.kinds()).toEqual(["raised@1", "cleared@2", "raised@1", "flapping@2"]);
    expect(d.out[3]).toMatchObject({ alertId: "dev-1/anomaly/2", state: "firing", flapping: true, summary: "flapping: 4 changes in 1m0s (score 0.1 < 0.5 on temp)" });
    expect(d.engine.open(d.st)).toHaveLength(1);
    // clear since 29 s; the window counts from there
    expect(d.score(88_999, 0.1)).toEqual([]);
    const [cleared] = d.score(89_000, 0.1);
    expect(cleared).toMatchObject({ alertId: "dev-1/anomaly/2", version: 3, kind: "cleared", state: "resolved", flapping: false });
    expect(cleared!.summary).toBe("score 0.1 < 0.5 on temp for 1m0s: no longer flapping");
  });

  it("a raise-level reading while flapping restarts the clear window", () => {
    const d = flappy();
    for (let i = 0; i < 4; i++) d.score(i * 1_000, i % 2 === 0 ? 0.95 : 0.1);
    d.score(10_000, 0.1);
    d.score(50_000, 0.95);
    d.score(51_000, 0.1);
    expect(d.score(110_999, 0.1)).toEqual([]);
    expect(d.score(111_000, 0.1).map((t) => t.kind)).toEqual(["cleared"]);
  });

  it("a raise that makes the rule flap raises a new alert as flapping", () => {
    const d = new Device(new AlertEngine([rule.score({ flap: { windowMs: 60_000, maxChanges: 3 } })]));
    d.score(0, 0.95);
    d.score(1_000, 0.1);
    const [t] = d.score(2_000, 0.95);
    expect(t).toMatchObject({ alertId: "dev-1/anomaly/2", version: 1, kind: "flapping", state: "firing", flapping: true });
  });

  it("a flapping alert can be acknowledged (still flapping) and resolved (no longer flapping)", () => {
    const d = flappy();
    for (let i = 0; i < 4; i++) d.score(i * 1_000, i % 2 === 0 ? 0.95 : 0.1);
    expect(d.command("acknowledge", "dev-1/anomaly/2", 5_000).ts[0]).toMatchObject({ kind: "acknowledged", state: "acknowledged", flapping: true, version: 3 });
    expect(d.command("resolve", "dev-1/anomaly/2", 6_000).ts[0]).toMatchObject({ kind: "resolved", state: "resolved", flapping: false, version: 4 });
    expect(d.engine.open(d.st)).toEqual([]);
  });

  it("an offline rule flaps too: going offline again while flapping only restarts the clear window", () => {
    const d = new Device(new AlertEngine([rule.offline({ flap: { windowMs: 60_000, maxChanges: 3 } })]));
    d.offline(0);
    d.score(1_000, 0);
    expect(d.offline(2_000).map((t) => `${t.alertId} ${t.kind}`)).toEqual(["dev-1/offline/2 flapping"]);
    expect(d.score(3_000, 0)).toEqual([]);
    expect(d.offline(4_000)).toEqual([]);
    expect(d.score(5_000, 0)).toEqual([]);
    expect(d.score(64_999, 0)).toEqual([]);
    expect(d.score(65_000, 0).map((t) => t.kind)).toEqual(["cleared"]);
  });

  it("changes older than the window do not count", () => {
    const d = flappy();
    for (let i = 0; i < 8; i++) d.score(i * 40_000, i % 2 === 0 ? 0.95 : 0.1);
    expect(d.out.every((t) => !t.flapping)).toBe(true);
    expect(d.out).toHaveLength(8);
  });
});

describe("operator commands", () => {
  it("acknowledge: state acknowledged, version+1, idempotent; resolve: final, re-armed only after a clear reading", () => {
    const d = new Device(new AlertEngine([rule.score()]));
    d.score(0, 0.95);
    const ack = d.command("acknowledge", "dev-1/anomaly/1", 5_000, "ana", "looking");
    expect(ack.error).toBe("");
    expect(ack.ts[0]).toMatchObject({ kind: "acknowledged", state: "acknowledged", version: 2, atMs: 5_000, by: "ana", reason: "looking", summary: "acknowledged by ana" });
    expect(d.command("acknowledge", "dev-1/anomaly/1", 6_000)).toEqual({ error: "", ts: [] });
    expect(d.engine.open(d.st)[0]!.state).toBe("acknowledged");
    const res = d.command("resolve", "dev-1/anomaly/1", 7_000, "bob", "fixed the fan");
    expect(res.ts[0]).toMatchObject({ kind: "resolved", state: "resolved", version: 3, atMs: 7_000, by: "bob", reason: "fixed the fan", startedAtMs: 0 });
    expect(d.engine.open(d.st)).toEqual([]);
    expect(d.score(8_000, 0.99)).toEqual([]); // the condition still holds: no re-open
    expect(d.score(9_000, 0.7)).toEqual([]); // between the levels: not clear yet
    expect(d.score(10_000, 0.99)).toEqual([]);
    d.score(11_000, 0.2); // clear: re-armed
    expect(d.score(12_000, 0.99)[0]).toMatchObject({ alertId: "dev-1/anomaly/2", kind: "raised" });
  });

  it("a resolved offline alert is raised again only after a reading showed the device online", () => {
    const d = new Device(new AlertEngine([rule.offline()]));
    d.offline(0);
    d.command("resolve", "dev-1/offline/1", 10);
    expect(d.offline(20)).toEqual([]);
    d.score(30, 0);
    expect(d.offline(40).map((t) => t.alertId)).toEqual(["dev-1/offline/2"]);
  });

  it("rejects unknown, foreign, malformed and closed alert ids without a transition", () => {
    const d = new Device(new AlertEngine([rule.score()]));
    expect(d.command("acknowledge", "dev-1/anomaly/1", 0).error).toBe("unknown alert dev-1/anomaly/1");
    d.score(0, 0.95);
    d.score(1, 0.1);
    d.score(2, 0.95);
    expect(d.command("acknowledge", "dev-1/anomaly/3", 3).error).toBe("unknown alert dev-1/anomaly/3");
    expect(d.command("acknowledge", "dev-1/anomaly/02", 3).error).toBe("unknown alert dev-1/anomaly/02");
    expect(d.command("acknowledge", "dev-1/nope/1", 3).error).toBe("unknown alert dev-1/nope/1");
    expect(d.command("resolve", "dev-1/anomaly/1", 3).error).toBe("alert dev-1/anomaly/1 is resolved");
    expect(d.command("acknowledge", "dev-2/anomaly/2", 3).error).toBe("alert dev-2/anomaly/2 is not an alert of device dev-1");
    expect(d.command("acknowledge", "dev-2/anomaly/2", 3, "ana", "", "dev-2").error).toBe("alert dev-2/anomaly/2 is not an alert of device dev-1");
    expect(d.command("acknowledge", "garbage", 3).error).toBe('"garbage" is not an alert id (<device>/<rule>/<n>)');
    expect(d.kinds()).toEqual(["raised@1", "cleared@2", "raised@1"]);
    d.command("resolve", "dev-1/anomaly/2", 4);
    expect(d.command("resolve", "dev-1/anomaly/2", 5).error).toBe("alert dev-1/anomaly/2 is resolved");
  });

  it("device ids with slashes work", () => {
    const d = new Device(new AlertEngine([rule.score()]), "site/a/pump-1");
    d.score(0, 0.95);
    expect(d.command("acknowledge", "site/a/pump-1/anomaly/1", 1)).toMatchObject({ error: "", ts: [{ kind: "acknowledged" }] });
  });
});

describe("configure (live reload)", () => {
  it("invalid rules throw and keep the old rules", () => {
    const e = new AlertEngine([rule.score()]);
    expect(() => e.configure([rule.score({ clearAt: 0.95 })])).toThrow(RangeError);
    expect(() => e.configure([rule.score(), rule.score()])).toThrow(/must be unique/);
    expect(e.rules).toEqual([rule.score()]);
    const d = new Device(e);
    expect(d.score(0, 0.95)[0]).toMatchObject({ kind: "raised" });
  });

  it("a removed rule's open alert is resolved on the next touch; its counter survives re-adding it", () => {
    const e = new AlertEngine([rule.score(), rule.threshold()]);
    const d = new Device(e);
    d.reading(0, { temp: 50 }, { temp: 0.95 });
    e.configure([rule.threshold()]);
    const ts = d.reading(10_000, { temp: 50 }, { temp: 0.95 });
    expect(ts).toEqual([expect.objectContaining({ alertId: "dev-1/anomaly/1", version: 2, kind: "resolved", state: "resolved", reason: "rule removed", summary: "rule removed", by: "", atMs: 10_000 })]);
    expect(d.engine.open(d.st).map((a) => a.alertId)).toEqual(["dev-1/hot/1"]);
    e.configure([rule.score(), rule.threshold()]);
    d.restore();
    expect(d.reading(20_000, { temp: 50 }, { temp: 0.95 }).map((t) => t.alertId)).toEqual(["dev-1/anomaly/2"]);
  });

  it("a rule whose kind or metric changed closes its alert as changed; changed levels keep it", () => {
    const e = new AlertEngine([rule.threshold({ id: "r" })]);
    const d = new Device(e);
    d.reading(0, { temp: 50 });
    e.configure([rule.threshold({ id: "r", raiseAt: 60, clearAt: 45 })]);
    expect(d.reading(1, { temp: 50 })).toEqual([]);
    e.configure([rule.threshold({ id: "r", metric: "hum" })]);
    expect(d.reading(2, { temp: 50 })).toEqual([expect.objectContaining({ alertId: "dev-1/r/1", kind: "resolved", reason: "rule changed" })]);
    expect(d.reading(3, { hum: 50 })[0]).toMatchObject({ alertId: "dev-1/r/2", metric: "hum" });
  });

  it("an alert of a removed rule cannot be acknowledged; the rule's removal comes first", () => {
    const e = new AlertEngine([rule.score()]);
    const d = new Device(e);
    d.score(0, 0.95);
    e.configure([]);
    expect(e.enabled).toBe(false);
    const res = d.command("acknowledge", "dev-1/anomaly/1", 100);
    expect(res.error).toBe("alert dev-1/anomaly/1 is resolved");
    expect(res.ts.map((t) => t.reason)).toEqual(["rule removed"]);
  });
});
