import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AlertRule, AlertTransition } from "../../src/domain/alerts.js";
import { SEVERITIES } from "../../src/domain/alerts.js";
import { decodeAlerts, encodeAlerts } from "./codec.js";
import { AlertEngine } from "./engine.js";
import { rule } from "./harness.js";
import type { DeviceAlerts } from "./state.js";

/** One event of a random run over two devices (times relative: `dt` advances the clock). */
type Ev =
  | { readonly k: "reading"; readonly dev: number; readonly dt: number; readonly back: number; readonly score: number; readonly temp: number | null; readonly hum: boolean }
  | { readonly k: "offline"; readonly dev: number; readonly dt: number }
  | { readonly k: "command"; readonly dev: number; readonly dt: number; readonly op: "acknowledge" | "resolve"; readonly pick: number }
  | { readonly k: "configure"; readonly which: number };

const DEVICES = ["dev-0", "site/dev-1"];
const ms = fc.constantFrom(0, 2_000, 5_000, 20_000);
const flap = fc.record({ windowMs: fc.constantFrom(0, 15_000, 60_000), maxChanges: fc.integer({ min: 2, max: 5 }) });
const common = { forMs: ms, clearForMs: ms, escalateAfterMs: fc.constantFrom(0, 10_000, 40_000), severity: fc.constantFrom(...SEVERITIES), flap };

/** Two rule sets: the second drops the threshold rule and turns the score rule onto one metric (a changed rule). */
const ruleSets = fc
  .record({ score: fc.record(common), threshold: fc.record(common), noData: fc.record({ ...common, afterMs: fc.constantFrom(3_000, 20_000) }), offline: fc.record(common) })
  .map((p): AlertRule[][] => {
    const score = rule.score({ ...p.score, raiseAt: 0.9, clearAt: 0.5 });
    const a = [score, rule.threshold({ ...p.threshold, raiseAt: 40, clearAt: 35 }), rule.noData(p.noData), rule.offline(p.offline)];
    return [a, [rule.score({ ...score, metric: "temp" }), a[2]!, a[3]!]];
  });

const ev: fc.Arbitrary<Ev> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ k: fc.constant("reading" as const), dev: fc.nat(1), dt: fc.constantFrom(0, 500, 1_000, 3_000, 9_000), back: fc.constantFrom(0, 0, 0, 4_000), score: fc.constantFrom(0.05, 0.3, 0.7, 0.92, 0.99), temp: fc.option(fc.constantFrom(20, 37, 45)), hum: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("offline" as const), dev: fc.nat(1), dt: fc.constantFrom(0, 30_000) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("command" as const), dev: fc.nat(1), dt: fc.constantFrom(0, 1_000), op: fc.constantFrom("acknowledge" as const, "resolve" as const), pick: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("configure" as const), which: fc.nat(1) }) },
);

/** Runs the events; at the indexes in `cuts` every device's state goes through the codec first. */
function run(sets: AlertRule[][], evs: readonly Ev[], cuts: ReadonlySet<number>) {
  const engine = new AlertEngine(sets[0]!);
  const sts: (DeviceAlerts | undefined)[] = DEVICES.map(() => undefined);
  const out: AlertTransition[] = [];
  const errors: string[] = [];
  let t = 1_000_000;
  evs.forEach((e, i) => {
    if (cuts.has(i)) for (let d = 0; d < sts.length; d++) if (sts[d] !== undefined) sts[d] = decodeAlerts(encodeAlerts(sts[d]!));
    if (e.k === "configure") return engine.configure(sets[e.which]!);
    t += e.dt;
    const id = DEVICES[e.dev]!;
    if (e.k === "reading") {
      const names = ["x", ...(e.temp === null ? [] : ["temp"]), ...(e.hum ? ["hum"] : [])];
      const values = names.map((n) => (n === "temp" ? e.temp! : 1));
      const scores = names.map((n) => (n === "x" ? e.score : e.score / 2));
      sts[e.dev] = engine.onReading(sts[e.dev], id, t - e.back, names, values, scores, e.score, out);
    } else if (e.k === "offline") {
      sts[e.dev] = engine.onOffline(sts[e.dev], id, t, out);
    } else {
      // an alert of this device seen so far, or one that never existed
      const ids = [...new Set(out.filter((x) => x.deviceId === id).map((x) => x.alertId))];
      const alertId = e.pick < ids.length ? ids[ids.length - 1 - e.pick]! : `${id}/anomaly/99`;
      const res = engine.onCommand(sts[e.dev], { type: "alert-command", op: e.op, alertId, deviceId: id, by: "op", reason: "r", commandId: `c${i}`, atMs: t }, out);
      sts[e.dev] = res.st;
      errors.push(res.error);
    }
  });
  return { engine, sts, out, errors };
}

/** Checks the life of every alert in a run's transitions; returns the alerts still open by id. */
function checkLives(out: readonly AlertTransition[]): Map<string, AlertTransition> {
  const last = new Map<string, AlertTransition>();
  const openByKey = new Map<string, string>();
  const count = new Map<string, number>();
  for (const x of out) {
    const key = `${x.deviceId}|${x.rule}`;
    const prev = last.get(x.alertId);
    if (prev === undefined) {
      expect(x.version).toBe(1);
      expect(["raised", "flapping"]).toContain(x.kind);
      expect(openByKey.get(key), `second open alert of ${key}`).toBeUndefined();
      const n = (count.get(key) ?? 0) + 1;
      count.set(key, n);
      expect(x.alertId).toBe(`${x.deviceId}/${x.rule}/${n}`);
      openByKey.set(key, x.alertId);
    } else {
      expect(prev.state, `transition after the end of ${x.alertId}`).not.toBe("resolved");
      expect(x.version).toBe(prev.version + 1);
      expect(x.startedAtMs).toBe(prev.startedAtMs);
      const step = SEVERITIES.indexOf(x.severity) - SEVERITIES.indexOf(prev.severity);
      expect(step).toBe(x.kind === "escalated" ? 1 : 0);
    }
    if (x.state === "resolved") {
      expect(["cleared", "resolved"]).toContain(x.kind);
      expect(x.flapping).toBe(false);
      openByKey.delete(key);
    }
    last.set(x.alertId, x);
  }
  return new Map([...last].filter(([, x]) => x.state !== "resolved"));
}

describe("alert engine properties", () => {
  it("one open alert per device and rule; versions 1..k; every alert ends once or is still open; replay after snapshot/restore is identical", () => {
    fc.assert(
      fc.property(ruleSets, fc.array(ev, { maxLength: 160, size: "max" }), fc.uniqueArray(fc.nat(160), { maxLength: 6 }), (sets, evs, cuts) => {
        const a = run(sets, evs, new Set());
        const stillOpen = checkLives(a.out);
        const reported = DEVICES.flatMap((_, d) => a.engine.open(a.sts[d]));
        expect(new Map(reported.map((o) => [o.alertId, [o.state, o.severity]]))).toEqual(new Map([...stillOpen].map(([id, x]) => [id, [x.state, x.severity]])));
        const b = run(sets, evs, new Set(cuts));
        expect(b.out).toEqual(a.out);
        expect(b.errors).toEqual(a.errors);
        expect(b.sts.map((s) => (s === undefined ? null : [...encodeAlerts(s)]))).toEqual(a.sts.map((s) => (s === undefined ? null : [...encodeAlerts(s)])));
      }),
      { numRuns: 300 },
    );
  });

  it("commands never fail on an open alert and never touch another device's alerts", () => {
    fc.assert(
      fc.property(ruleSets, fc.array(ev, { maxLength: 120, size: "max" }), (sets, evs) => {
        const { out, errors } = run(sets, evs, new Set());
        const byOperator = out.filter((x) => x.by !== "");
        expect(byOperator.every((x) => x.kind === "acknowledged" || x.kind === "resolved")).toBe(true);
        for (const e of errors) expect(e === "" || /^(unknown alert|alert .* is resolved)/.test(e)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});
