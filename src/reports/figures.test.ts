import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { buildItems, fmt, metricFigures, reportBody, reportTitle, type ReportFigures } from "./figures.js";
import { globToRegex, inScope, scopeKey, validateSchedule } from "./schedule.js";

const fleet = { kind: "fleet" } as const;
const pumps = { kind: "group", group: "pumps", match: "pump-*" } as const;

const figures = (metrics = 2, alerts = 1): ReportFigures => ({
  devices: 3,
  readings: 7200,
  metrics: Array.from({ length: metrics }, (_, i) => metricFigures(`m${i}`, 3, 3600, 10, 30, 3600 * 20, 3600 * 404, 0.5 + i / 10)),
  topDevices: [{ deviceId: "pump-1", metric: "m1", maxScore: 0.97 }],
  anomalies: 4,
  incidents: 3,
  alerts: Array.from({ length: alerts }, (_, i) => ({ rule: `r${i}`, raised: 3, cleared: 2 })),
});

describe("report figures and items", () => {
  it("computes mean and stddev from the rollups' sum and sum of squares", () => {
    // values 10 and 30, 1800 each: mean 20, stddev 10.
    const m = metricFigures("temp", 2, 3600, 10, 30, 1800 * 10 + 1800 * 30, 1800 * 100 + 1800 * 900, 0.9);
    expect(m).toEqual({ metric: "temp", samples: 3600, devices: 2, min: 10, max: 30, mean: 20, stddev: 10, maxScore: 0.9 });
    // A constant metric whose variance rounds slightly below 0 gives stddev 0, not NaN; no samples gives zeros.
    expect(metricFigures("c", 1, 3, 0.1, 0.1, 0.30000000000000004, 0.03, 0).stddev).toBe(0);
    expect(metricFigures("none", 0, 0, 0, 0, 0, 0, 0)).toMatchObject({ mean: 0, stddev: 0 });
  });

  it("builds one line per fact: overview, metrics, top devices, analyses, alerts by rule", () => {
    expect(buildItems(fleet, figures(), 40)).toEqual([
      "Fleet: 3 device(s) sent 7200 reading(s) of 2 metric(s)",
      "m0: 3600 samples from 3 device(s), min 10, max 30, mean 20, stddev 2, max anomaly score 0.5",
      "m1: 3600 samples from 3 device(s), min 10, max 30, mean 20, stddev 2, max anomaly score 0.6",
      "High anomaly score: pump-1 (m1) 0.97",
      "Anomalies: 4 in 3 incident(s)",
      "Alert rule r0: 3 raised, 2 cleared",
    ]);
    expect(buildItems(pumps, { devices: 0, readings: 0, metrics: [], topDevices: [], anomalies: 0, incidents: 0, alerts: [] }, 40)).toEqual(["Group pumps: no readings in this period", "Anomalies: 0 in 0 incident(s)"]);
  });

  it("never gives the model more than maxItems lines, and says how many were left out", () => {
    const items = buildItems(fleet, figures(30, 10), 8);
    expect(items).toHaveLength(8);
    expect(items[7]).toBe("(36 more figure line(s) left out)");
    expect(buildItems(fleet, figures(30, 10), 1)).toEqual(["Fleet: 3 device(s) sent 7200 reading(s) of 30 metric(s)"]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 100 }), (m, a, max) => {
        const all = buildItems(fleet, figures(m, a), 10_000);
        const got = buildItems(fleet, figures(m, a), max);
        return got.length === Math.min(max, all.length) && (all.length <= max ? got.join() === all.join() : got.slice(0, max - 1).join() === all.slice(0, max - 1).join());
      }),
    );
  });

  it("writes the body as the summary then compact tables, and a title naming the scope and the period", () => {
    const body = reportBody("All quiet.\n", figures(1));
    expect(body.split("\n")).toEqual([
      "All quiet.",
      "",
      "Devices 3, readings 7200, anomalies 4 in 3 incident(s).",
      "",
      "| metric | samples | devices | min | max | mean | stddev | max score |",
      "|---|---|---|---|---|---|---|---|",
      "| m0 | 3600 | 3 | 10 | 30 | 20 | 2 | 0.5 |",
      "",
      "Top devices by anomaly score: pump-1 (m1) 0.97.",
      "",
      "Alerts raised/cleared by rule: r0 3/2.",
    ]);
    expect(reportTitle("pumps-daily", pumps, { fromMs: Date.UTC(2024, 4, 1), toMs: Date.UTC(2024, 4, 2) })).toBe("pumps-daily: group pumps (pump-*), 2024-05-01T00:00:00.000Z – 2024-05-02T00:00:00.000Z");
    expect([fmt(3), fmt(20.123456), fmt(0.000123456), fmt(12345.678), fmt(-2.5)]).toEqual(["3", "20.12", "0.000123", "12346", "-2.5"]);
  });
});

describe("report schedules", () => {
  it("match groups with a glob where only * is special", () => {
    expect(globToRegex("pump-*")).toBe("^pump-.*$");
    expect(globToRegex("a.b+(c)*")).toBe("^a\\.b\\+\\(c\\).*$");
    expect(inScope(pumps, "pump-7")).toBe(true);
    expect(inScope(pumps, "xpump-7")).toBe(false);
    expect(inScope({ kind: "group", group: "g", match: "*.eu" }, "a.eu")).toBe(true);
    expect(inScope({ kind: "group", group: "g", match: "*.eu" }, "aXeu")).toBe(false);
    expect(inScope(fleet, "anything")).toBe(true);
    expect([scopeKey(fleet), scopeKey(pumps)]).toEqual(["fleet", "group:pumps"]);
  });

  it("refuses schedules the periods cannot follow, naming the field", () => {
    const ok = { name: "h", everyMs: 3_600_000, delayMs: 0, scope: fleet, maxItems: 40 };
    expect(validateSchedule(ok)).toBe(ok);
    expect(() => validateSchedule({ ...ok, everyMs: 90_000 })).toThrow('reports.schedules["h"].everyMs must be a whole number of minutes, got 90000');
    expect(() => validateSchedule({ ...ok, maxItems: 0 })).toThrow('reports.schedules["h"].maxItems must be an integer >= 1, got 0');
    expect(() => validateSchedule({ ...ok, name: "a/b" })).toThrow('reports.schedules["a/b"].name must be 1-64 letters, digits, _ and -');
  });
});
