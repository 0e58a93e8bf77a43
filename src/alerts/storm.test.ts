import { describe, expect, it } from "vitest";
import type { AlertTransition } from "../domain/alerts.js";
import { StormGate, type StormDecision, type StormSummary } from "./storm.js";

const MIN = 60_000;
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % MIN); // a minute boundary

function raised(device: string, atMs: number, rule = "offline"): AlertTransition {
  return { alertId: `${device}/${rule}/1`, version: 1, deviceId: device, rule, metric: "", kind: "raised", state: "firing", severity: "warning", atMs, startedAtMs: atMs, value: 0, summary: "", by: "", reason: "", flapping: false };
}
function next(t: AlertTransition, kind: AlertTransition["kind"], atMs: number): AlertTransition {
  return { ...t, version: t.version + 1, kind, state: kind === "cleared" || kind === "resolved" ? "resolved" : kind === "acknowledged" ? "acknowledged" : "firing", atMs };
}

/** Feeds transitions through a gate the way the notifier does (tick by the transition's time first) and tallies what would be sent. */
function run(gate: StormGate, ts: readonly AlertTransition[]) {
  const out = { notified: [] as AlertTransition[], starts: [] as string[], ends: [] as StormSummary[], grouped: 0, decisions: [] as StormDecision[] };
  for (const t of ts) {
    for (let s; (s = gate.tick(t.atMs)); ) out.ends.push(s);
    const d = gate.decide(t);
    out.decisions.push(d);
    if (d.action === "notify") out.notified.push(t);
    else if (d.action === "notify-and-start") out.starts.push(d.stormId);
    else out.grouped++;
  }
  return out;
}

describe("StormGate", () => {
  it("notifies every raise while a minute stays at or under the limit", () => {
    const gate = new StormGate(5);
    // 5 raises in each of 10 minutes, plus their clears.
    const ts = Array.from({ length: 50 }, (_, i) => raised(`d${i}`, T0 + Math.floor(i / 5) * MIN + (i % 5) * 1000));
    const r = run(gate, [...ts, ...ts.map((t) => next(t, "cleared", T0 + 10 * MIN))]);
    expect(r.notified).toHaveLength(100);
    expect(r.starts).toEqual([]);
    expect(r.grouped).toBe(0);
    expect(gate.openStormId).toBeUndefined();
  });

  it("turns 10,000 raises and their clears into maxPerMinute raises, their clears, one start and one end", () => {
    const gate = new StormGate(5);
    const raises = Array.from({ length: 10_000 }, (_, i) => raised(`dev-${i}`, T0 + 5_000 + Math.floor(i / 500))); // all within 20 ms
    const clears = raises.map((t, i) => next(t, "cleared", T0 + 40_000 + Math.floor(i / 500)));
    const r = run(gate, [...raises, ...clears]);
    const end = gate.tick(T0 + 3 * MIN); // the timer, after a quiet minute
    expect(end).toBeDefined();
    r.ends.push(end!);
    expect(r.notified.filter((t) => t.kind === "raised").map((t) => t.deviceId)).toEqual(["dev-0", "dev-1", "dev-2", "dev-3", "dev-4"]);
    expect(r.notified.filter((t) => t.kind === "cleared").map((t) => t.deviceId)).toEqual(["dev-0", "dev-1", "dev-2", "dev-3", "dev-4"]);
    expect(r.starts).toEqual([`storm/${T0}`]);
    expect(r.ends).toHaveLength(1);
    expect(r.notified.length + r.starts.length + r.ends.length).toBe(5 + 5 + 2);
    expect(r.ends[0]).toMatchObject({ id: `storm/${T0}`, alertsGrouped: 9_995, transitionsGrouped: 19_990, stillOpen: 0, peakPerMinute: 10_000, byRule: { offline: 9_995 }, endedAtMs: T0 + 2 * MIN });
    expect(r.ends[0]!.topDevices).toHaveLength(10);
    expect(gate.groupedAlerts).toBe(0);
    expect(gate.tick(T0 + 10 * MIN)).toBeUndefined();
  });

  it("keeps a storm over several busy minutes one incident, ending only after a quiet minute", () => {
    const gate = new StormGate(3);
    const ts: AlertTransition[] = [];
    // Minutes 0..3 busy (20 raises each), minute 4 quiet (2 raises), then one raise in minute 5.
    for (let m = 0; m < 4; m++) for (let i = 0; i < 20; i++) ts.push(raised(`m${m}-d${i}`, T0 + m * MIN + i * 100));
    ts.push(raised("q-1", T0 + 4 * MIN + 10), raised("q-2", T0 + 4 * MIN + 20));
    const r = run(gate, ts);
    expect(r.starts).toEqual([`storm/${T0}`]);
    expect(r.ends).toEqual([]);
    expect(gate.openStormId).toBe(`storm/${T0}`);
    // A quiet minute 4 is over once a transition of minute 5 comes: the storm ends first, the raise is notified.
    const after = run(gate, [raised("late", T0 + 5 * MIN + 1)]);
    expect(after.ends).toHaveLength(1);
    expect(after.ends[0]).toMatchObject({ id: `storm/${T0}`, alertsGrouped: 80 - 3 + 2, stillOpen: 79, endedAtMs: T0 + 5 * MIN });
    expect(after.notified.map((t) => t.deviceId)).toEqual(["late"]);
  });

  it("does not end a storm while its minutes keep over the limit, however long", () => {
    const gate = new StormGate(2);
    const ts: AlertTransition[] = [];
    for (let m = 0; m < 30; m++) for (let i = 0; i < 3; i++) ts.push(raised(`m${m}-d${i}`, T0 + m * MIN + i));
    const r = run(gate, ts);
    expect(r.starts).toHaveLength(1);
    expect(r.ends).toHaveLength(0);
    expect(gate.tick(T0 + 30 * MIN + 59_000)).toBeUndefined(); // minute 30 not over yet
    expect(gate.tick(T0 + 31 * MIN)).toMatchObject({ alertsGrouped: 30 * 3 - 2 });
  });

  it("keeps transitions of alerts notified one by one individual during a storm, and groups the grouped ones' after it", () => {
    const gate = new StormGate(2);
    const first = [raised("a", T0 + 1), raised("b", T0 + 2)];
    const storm = Array.from({ length: 10 }, (_, i) => raised(`s${i}`, T0 + 10 + i));
    const r = run(gate, [...first, ...storm]);
    expect(r.notified.map((t) => t.deviceId)).toEqual(["a", "b"]);
    expect(r.starts).toHaveLength(1);
    // During the storm: a and b escalate and are acknowledged -> notified; s3 escalates -> grouped.
    const during = run(gate, [next(first[0]!, "escalated", T0 + 20_000), next(storm[3]!, "escalated", T0 + 20_001), next(next(first[1]!, "escalated", T0 + 20_002), "acknowledged", T0 + 20_003)]);
    expect(during.decisions.map((d) => d.action)).toEqual(["notify", "group", "notify"]);
    // The storm ends (timer); clears of the grouped alerts still do not notify, a's clear does.
    expect(gate.tick(T0 + 2 * MIN)).toMatchObject({ stillOpen: 10, alertsGrouped: 10 });
    const after = run(gate, [next(storm[0]!, "cleared", T0 + 3 * MIN), next(first[0]!, "cleared", T0 + 3 * MIN + 1)]);
    expect(after.decisions).toEqual([{ action: "group", stormId: `storm/${T0}` }, { action: "notify" }]);
  });

  it("counts a repeated raise (a duplicate message) once", () => {
    const gate = new StormGate(2);
    const a = raised("a", T0 + 1);
    const r = run(gate, [a, a, a, raised("b", T0 + 2), raised("c", T0 + 3)]);
    expect(r.decisions.map((d) => d.action)).toEqual(["notify", "notify", "notify", "notify", "notify-and-start"]);
  });

  it("serializes and restores to the same decisions (a restart mid-storm)", () => {
    const ts: AlertTransition[] = [];
    for (let i = 0; i < 300; i++) ts.push(raised(`d${i}`, T0 + i * 500));
    for (let i = 0; i < 300; i++) ts.push(next(ts[i]!, "cleared", T0 + 3 * MIN + i * 500));
    const whole = run(new StormGate(4), ts);
    for (const cut of [1, 5, 6, 150, 299, 300, 450, 599]) {
      const g1 = new StormGate(4);
      const a = run(g1, ts.slice(0, cut));
      const g2 = StormGate.restore(JSON.parse(JSON.stringify(g1.serialize())) as string, 4);
      const b = run(g2, ts.slice(cut));
      expect([...a.decisions, ...b.decisions]).toEqual(whole.decisions);
      expect([...a.ends, ...b.ends]).toEqual(whole.ends);
    }
  });

  it("counts a lagging raise in the minute before the newest one, never reopening older minutes", () => {
    const gate = new StormGate(1);
    run(gate, [raised("a", T0 + 5 * MIN)]);
    // Raises stamped 4 minutes earlier count in minute 4: the first fits, the second starts a storm there.
    const r = run(gate, [raised("old-1", T0 + MIN), raised("old-2", T0 + MIN + 1)]);
    expect(r.decisions).toEqual([{ action: "notify" }, { action: "notify-and-start", stormId: `storm/${T0 + 4 * MIN}` }]);
  });

  it("gives a storm that starts again in a minute whose storm the timer ended an id of its own", () => {
    const gate = new StormGate(1);
    const r = run(gate, [raised("a", T0 + 1), raised("b", T0 + 2)]);
    expect(gate.tick(T0 + 2 * MIN)?.id).toBe(`storm/${T0}`); // the wall clock ran ahead of the transitions
    const again = run(gate, [raised("c", T0 + 3)]);
    expect([...r.starts, ...again.starts]).toEqual([`storm/${T0}`, `storm/${T0}-2`]);
  });

  it("rejects a limit below 1", () => {
    expect(() => new StormGate(0)).toThrow(RangeError);
  });
});
