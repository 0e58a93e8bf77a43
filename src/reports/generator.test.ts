import { describe, expect, it } from "vitest";
import { SimClock } from "../base/testing/sim-clock.js";
import type { ModelInfo, SummarizeRequest } from "../ports/gateway.js";
import type { Row, RowsByTable, RowSink } from "../ports/row-sink.js";
import { rowObjects } from "../domain/row-batch.js";
import { metricFigures, type ReportFigures } from "./figures.js";
import { ReportGenerator } from "./generator.js";
import type { FiguresQuery, ReportStore } from "./report-store.js";
import { ReportScheduler } from "./scheduler.js";
import type { ReportSchedule } from "./schedule.js";

const H = 3_600_000;
const h = (n: number) => Date.UTC(2024, 4, 1, n);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const model: ModelInfo = { provider: "local", model: "local-summary", promptVersion: "", cached: false, inputTokens: 0, outputTokens: 0, costUsd: 0, degraded: false, attempts: 0, signature: "" };

/** ClickHouse as the generator sees it: stored report rows (written by the sink) and figures per query. */
function memoryWorld(opts: { failFigures?: (q: FiguresQuery) => boolean } = {}) {
  const rows: Row[] = [];
  const queries: FiguresQuery[] = [];
  const figures: ReportFigures = { devices: 2, readings: 10, metrics: [metricFigures("temp", 2, 10, 1, 9, 50, 300, 0.8)], topDevices: [], anomalies: 1, incidents: 1, alerts: [{ rule: "anomaly", raised: 1, cleared: 0 }] };
  const store: ReportStore = {
    async lastPeriods() {
      const m = new Map<string, number>();
      for (const r of rows) m.set(String(r["kind"]), Math.max(m.get(String(r["kind"])) ?? -Infinity, Number(r["period_from_ms"])));
      return m;
    },
    async exists(kind, id) {
      return rows.some((r) => r["kind"] === kind && r["report_id"] === id);
    },
    async figures(q) {
      queries.push(q);
      if (opts.failFigures?.(q)) throw Object.assign(new Error("clickhouse down"), { retryable: true });
      return figures;
    },
  };
  const sink: RowSink = {
    async write(byTable: RowsByTable) {
      for (const [table, batch] of byTable) if (table === "reports") rows.push(...rowObjects(batch));
    },
    async close() {},
  };
  const calls: SummarizeRequest[] = [];
  const gateway = {
    async summarize(req: SummarizeRequest) {
      calls.push(req);
      return { summary: `summary of ${req.title}`, model };
    },
  };
  return { rows, queries, store, sink, calls, gateway };
}

const hourly: ReportSchedule = { name: "fleet-hourly", everyMs: H, delayMs: 0, scope: { kind: "fleet" }, maxItems: 40 };

describe("ReportGenerator", () => {
  it("writes one row per (schedule, period) under its deterministic id; a second call finds it and does nothing", async () => {
    const w = memoryWorld();
    const clock = new SimClock(h(11));
    const g = new ReportGenerator({ store: w.store, gateway: w.gateway, sink: w.sink, clock });
    const first = await g.generate(hourly, h(9) + 1234); // any instant inside the period
    expect(first).toMatchObject({ reportId: "fleet-hourly/2024-05-01T09:00:00.000Z", status: "written" });
    expect(await g.generate(hourly, h(9))).toEqual({ reportId: "fleet-hourly/2024-05-01T09:00:00.000Z", status: "exists" });
    expect(w.calls).toHaveLength(1);
    expect(w.calls[0]).toMatchObject({ title: "fleet-hourly: fleet, 2024-05-01T09:00:00.000Z – 2024-05-01T10:00:00.000Z", subjectId: "fleet-hourly/2024-05-01T09:00:00.000Z" });
    expect(w.calls[0]!.items).toContain("temp: 10 samples from 2 device(s), min 1, max 9, mean 5, stddev 2.24, max anomaly score 0.8");
    expect(w.queries).toEqual([{ scope: { kind: "fleet" }, period: { fromMs: h(9), toMs: h(10) }, topDevices: 5 }]);
    expect(w.rows).toHaveLength(1);
    expect(w.rows[0]).toMatchObject({ report_id: "fleet-hourly/2024-05-01T09:00:00.000Z", kind: "fleet-hourly", scope: "fleet", period_from_ms: h(9), period_to_ms: h(10), created_at_ms: h(11), provider: "local", model: "local-summary", cost_usd: 0 });
    expect(String(w.rows[0]!["body"])).toMatch(/^summary of fleet-hourly: fleet, .*\n\nDevices 2, readings 10, anomalies 1 in 1 incident\(s\)\./);
  });

  it("writes nothing once its signal is aborted (a deposed leader), even with the summary in hand", async () => {
    const w = memoryWorld();
    const ctrl = new AbortController();
    const gateway = {
      summarize: async (req: SummarizeRequest) => {
        ctrl.abort(new Error("deposed: lock lost"));
        return w.gateway.summarize(req);
      },
    };
    const g = new ReportGenerator({ store: w.store, gateway, sink: w.sink, clock: new SimClock(h(11)) });
    await expect(g.generate(hourly, h(9), ctrl.signal)).rejects.toThrow("deposed: lock lost");
    expect(w.rows).toHaveLength(0);
  });
});

describe("ReportScheduler", () => {
  it("catches up exactly the missing periods, then sleeps until the next one is due and generates it", async () => {
    const w = memoryWorld();
    const clock = new SimClock(h(10) + 30 * 60_000);
    // Stored: the 06:00 report (4 periods back); 07, 08 and 09 are missing at 10:30.
    w.rows.push({ report_id: "fleet-hourly/2024-05-01T06:00:00.000Z", kind: "fleet-hourly", period_from_ms: h(6) });
    const g = new ReportGenerator({ store: w.store, gateway: w.gateway, sink: w.sink, clock });
    const s = new ReportScheduler({ store: w.store, generator: g, clock, log: quiet }, { schedules: [{ ...hourly, delayMs: 120_000 }], catchUpMax: 48 });
    const ctrl = new AbortController();
    const done = s.run(ctrl.signal);
    await clock.advance(0);
    expect(w.rows.map((r) => r["report_id"])).toEqual(["06", "07", "08", "09"].map((x) => `fleet-hourly/2024-05-01T${x}:00:00.000Z`));
    expect(s.stats).toMatchObject({ generated: 3, failures: 0, idleUntilMs: h(11) + 120_000 });
    await clock.advance(h(11) + 120_000 - clock.now() - 1);
    expect(w.rows).toHaveLength(4);
    await clock.advance(1);
    expect(w.rows.at(-1)!["report_id"]).toBe("fleet-hourly/2024-05-01T10:00:00.000Z");
    ctrl.abort();
    await done;
    expect(w.calls).toHaveLength(4);
  });

  it("logs and counts a failure, keeps later periods waiting (no gap), and retries after a backoff", async () => {
    let failing = true;
    const w = memoryWorld({ failFigures: (q) => failing && q.period.fromMs === h(8) });
    const clock = new SimClock(h(10) + 30 * 60_000);
    w.rows.push({ report_id: "x", kind: "fleet-hourly", period_from_ms: h(6) });
    const warnings: string[] = [];
    const log = { ...quiet, warn: (f: object | string, m?: string) => void warnings.push(m ?? String(f)) };
    const g = new ReportGenerator({ store: w.store, gateway: w.gateway, sink: w.sink, clock });
    const s = new ReportScheduler({ store: w.store, generator: g, clock, log }, { schedules: [hourly], catchUpMax: 48, retryBaseMs: 1_000 });
    const ctrl = new AbortController();
    const done = s.run(ctrl.signal);
    await clock.advance(0);
    expect(w.rows.map((r) => r["period_from_ms"])).toEqual([h(6), h(7)]); // 09 not before 08
    expect(s.stats.failures).toBe(1);
    expect(warnings).toEqual(["reports: report failed; tried again at the next loop"]);
    await clock.advance(1_000);
    expect(s.stats.failures).toBe(2); // still failing: backoff 2 s next
    failing = false;
    await clock.advance(2_000);
    expect(w.rows.map((r) => r["period_from_ms"])).toEqual([h(6), h(7), h(8), h(9)]);
    ctrl.abort();
    await done;
  });
});
