import { describe, expect, it } from "vitest";
import type { AlertRule } from "../../src/domain/alerts.js";
import { AlertEngine } from "./engine.js";
import { rule } from "./harness.js";
import { checkAlertRules, compileRules, parseAlertRules } from "./rules.js";
import { fmtDuration, fmtNum } from "./text.js";

const bad = (r: unknown) => () => checkAlertRules([r as AlertRule]);

describe("checkAlertRules", () => {
  it("accepts every kind and returns the rules unchanged", () => {
    const rules = [rule.score(), rule.score({ id: "s2", metric: "temp", raiseAt: 0.5, clearAt: 0.5 }), rule.threshold(), rule.threshold({ id: "cold", op: "below", raiseAt: 1, clearAt: 2 }), rule.offline(), rule.noData()];
    expect(checkAlertRules(rules)).toBe(rules);
    expect(checkAlertRules([])).toEqual([]);
  });

  it.each([
    [{ ...rule.score(), id: "a b" }, 'alert rule #0: id must be 1-64 letters, digits, _ and -, got "a b"'],
    [{ ...rule.score(), id: 7 }, "alert rule #0: id must be 1-64 letters, digits, _ and -, got 7"],
    [{ ...rule.score(), kind: "rate" }, 'alert rule "anomaly": kind must be one of score, threshold, offline, no-data, got "rate"'],
    [{ ...rule.score(), severity: "fatal" }, 'alert rule "anomaly": severity must be one of info, warning, critical, got "fatal"'],
    [{ ...rule.score(), forMs: -1 }, 'alert rule "anomaly": forMs must be a finite number >= 0, got -1'],
    [{ ...rule.score(), clearForMs: NaN }, 'alert rule "anomaly": clearForMs must be a finite number >= 0, got NaN'],
    [{ ...rule.score(), escalateAfterMs: "15m" }, 'alert rule "anomaly": escalateAfterMs must be a finite number >= 0, got "15m"'],
    [{ ...rule.score(), flap: null }, 'alert rule "anomaly": flap must be an object {windowMs, maxChanges}, got null'],
    [{ ...rule.score(), flap: { windowMs: -5, maxChanges: 4 } }, 'alert rule "anomaly": flap.windowMs must be a finite number >= 0 (0: no flap suppression), got -5'],
    [{ ...rule.score(), flap: { windowMs: 5, maxChanges: 1 } }, 'alert rule "anomaly": flap.maxChanges must be an integer >= 2, got 1'],
    [rule.score({ clearAt: 0.95 }), 'alert rule "anomaly": clearAt must be <= raiseAt 0.9 (hysteresis), got 0.95'],
    [rule.score({ raiseAt: Infinity }), 'alert rule "anomaly": raiseAt must be a finite number, got Infinity'],
    [rule.score({ metric: "" }), 'alert rule "anomaly": metric must be a non-empty string, got ""'],
    [{ ...rule.threshold(), metric: undefined }, 'alert rule "hot": metric must be a non-empty string, got undefined'],
    [rule.threshold({ op: "over" as "above" }), 'alert rule "hot": op must be above or below, got "over"'],
    [rule.threshold({ raiseAt: 40, clearAt: 41 }), 'alert rule "hot": clearAt must be <= raiseAt 40 for op above, got 41'],
    [rule.threshold({ op: "below", raiseAt: 5, clearAt: 4 }), 'alert rule "hot": clearAt must be >= raiseAt 5 for op below, got 4'],
    [rule.noData({ afterMs: 0 }), 'alert rule "no-hum": afterMs must be a finite number > 0, got 0'],
    ["score", 'alert rule #0: must be an object, got "score"'],
  ])("rejects %j", (r, message) => {
    expect(bad(r)).toThrow(RangeError);
    expect(bad(r)).toThrow(message);
  });

  it("rejects duplicate ids and non-arrays", () => {
    expect(() => checkAlertRules([rule.score(), rule.offline({ id: "anomaly" })])).toThrow('alert rule "anomaly": id must be unique among the rules, got "anomaly"');
    expect(() => checkAlertRules({} as unknown as AlertRule[])).toThrow("alert rules: must be an array, got {}");
  });

  it("the engine validates in its constructor", () => {
    expect(() => new AlertEngine([rule.noData({ afterMs: -1 })])).toThrow(/no-hum.*afterMs/);
  });
});

describe("parseAlertRules", () => {
  it("copies only the fields of each kind", () => {
    const input = JSON.parse(JSON.stringify([{ ...rule.offline(), raiseAt: 3, extra: true }, rule.score({ metric: "t" })])) as unknown;
    expect(parseAlertRules(input)).toEqual([rule.offline(), rule.score({ metric: "t" })]);
    expect(() => parseAlertRules([{ id: "x" }])).toThrow(RangeError);
  });
});

describe("compileRules", () => {
  it("a device with no state is left alone below the lowest score raise level, only when every reading rule is a score rule", () => {
    expect(compileRules([rule.score({ raiseAt: 0.9 }), rule.score({ id: "b", metric: "t", raiseAt: 0.8, clearAt: 0.1 }), rule.offline()]).quietBelow).toBe(0.8);
    expect(compileRules([rule.offline()]).quietBelow).toBe(Infinity);
    expect(compileRules([rule.score(), rule.threshold()]).quietBelow).toBe(-Infinity);
    expect(compileRules([rule.noData()]).quietBelow).toBe(-Infinity);
  });
});

describe("text", () => {
  it("formats numbers and durations for humans", () => {
    expect([fmtNum(3), fmtNum(0.97123), fmtNum(1 / 3), fmtNum(-2.5)]).toEqual(["3", "0.9712", "0.3333", "-2.5"]);
    expect([fmtDuration(500), fmtDuration(45_000), fmtDuration(300_000), fmtDuration(3_723_000), fmtDuration(61_500), fmtDuration(-1)]).toEqual(["500ms", "45s", "5m0s", "1h2m3s", "1m1.5s", "-1ms"]);
  });
});
