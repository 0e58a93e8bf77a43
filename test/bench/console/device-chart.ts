/**
 * Target 2 of bench:console: a device page's live chart at `rate` readings/s, left open.
 *
 * The device simulator (src/simulator) publishes one device at `rate` readings/s over MQTT QoS 1
 * into a running pipeline (bridge → JetStream → device actor → row log → WatchDevice → browser),
 * with its default anomalies (markers and analyses on the page now and then). After a few seconds
 * (the device is stored, so the page opens on a known device) Chromium opens `#/device/<id>` and
 * every `sampleSeconds` the bench reads, for the first live chart: how far its newest point moved
 * (readings the chart gained per second, counted from the simulator's acknowledged timestamps),
 * its redraws with a new point (CHART_PROBE), the lag of each new point behind the wall clock, its
 * point count, and, after a forced GC (DevTools HeapProfiler.collectGarbage), the JS heap in use
 * and the DOM node count (Performance.getMetrics; the least of three GC-and-read).
 */
import type { Browser } from "playwright-core";
import { simulate, type SimulateStats } from "../../../src/simulator/simulator.js";
import { CHART_PROBE, type ChartTake } from "./page-probe.js";
import { heapSites, startHeapSampling } from "./heap-sites.js";
import { quantile, round, slope } from "./stats.js";

export interface DeviceChartOptions {
  readonly browser: Browser;
  readonly consoleUrl: string;
  readonly mqttUrl: string;
  readonly rate: number;
  readonly minutes: number;
  readonly sampleSeconds: number;
  /** Also report where the live heap was allocated (sampling heap profiler from the page's opening); the app's folder for its source map. */
  readonly heapSites?: { readonly appDir: string };
}

/** One sample of the open page. */
export interface ChartSample {
  /** Seconds since the page opened. */
  readonly atS: number;
  readonly points: number;
  /** Readings whose time lies in (previous newest point, this newest point], per second of the interval. */
  readonly readingsPerS: number;
  /** Redraws with a new newest point per second of the interval. */
  readonly redrawsPerS: number;
  /** Lag of the new newest points behind the wall clock when drawn, ms. */
  readonly lagP50: number;
  readonly lagMax: number;
  /** Now minus the newest point, at the sample, ms. */
  readonly lagNow: number;
  readonly heapMb: number;
  /** DevTools' count of DOM nodes (text and detached ones too). */
  readonly domNodes: number;
  /** Elements outside the anomaly and event tables (which grow, bounded, as anomalies and events come). */
  readonly elementsOutsideLists: number;
  readonly anomalyRows: number;
  readonly eventRows: number;
  readonly listeners: number;
}

export interface DeviceChartResult {
  readonly deviceId: string;
  readonly published: number;
  readonly publishedPerS: number;
  readonly charts: number;
  readonly metric: string;
  readonly samples: ChartSample[];
  /** JS heap slope over the samples after the first, MB per minute; DOM nodes per minute. */
  readonly heapSlopeMbPerMin: number;
  readonly nodesSlopePerMin: number;
  readonly slopeLine: string;
  readonly sim: SimulateStats;
  readonly sites: Record<string, string | number>[] | undefined;
}

export async function deviceChart(o: DeviceChartOptions, progress: (s: string) => void): Promise<DeviceChartResult> {
  const stop = new AbortController();
  const acked: number[] = [];
  let deviceId = "";
  const sim = simulate({
    url: o.mqttUrl,
    devices: 1,
    rate: o.rate,
    durationSec: o.minutes * 60 + 600,
    devicePrefix: `chart${Date.now().toString(36)}`,
    connections: 1,
    signal: stop.signal,
    onPublished: (r) => {
      deviceId = r.deviceId;
      acked.push(r.tsMs);
    },
  });
  const context = await o.browser.newContext({ viewport: { width: 1366, height: 900 } });
  try {
    // Let the device be stored first (GetDevice finds it, the chart is seeded from storage).
    await new Promise((r) => setTimeout(r, 5000));
    if (deviceId === "") throw new Error("the simulator had no reading acknowledged in 5 s");
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable");
    await page.addInitScript({ content: CHART_PROBE });
    if (o.heapSites) await startHeapSampling(cdp);
    await page.goto(`${o.consoleUrl}/#/device/${encodeURIComponent(deviceId)}`);
    await page.waitForFunction(`document.querySelector('[data-testid="device-chart"][data-mode="live"][data-last-ts]') !== null`, undefined, { timeout: 60_000 });
    const opened = Date.now();
    const take = async () => (await page.evaluate("window.__shoalBench.take()")) as ChartTake;
    // The least of three reads, each right after a forced GC: what arrives between a GC and its read
    // (stream messages, the read itself) is not held, and one read alone wavers by a few hundred KB.
    const metrics = async () => {
      const reads = [];
      for (let i = 0; i < 3; i++) {
        await cdp.send("HeapProfiler.collectGarbage");
        const m = new Map((await cdp.send("Performance.getMetrics")).metrics.map((x) => [x.name, x.value] as const));
        reads.push({ heapMb: (m.get("JSHeapUsedSize") ?? NaN) / 1e6, domNodes: m.get("Nodes") ?? NaN, listeners: m.get("JSEventListeners") ?? NaN });
      }
      return reads.reduce((a, b) => (b.heapMb < a.heapMb ? b : a));
    };
    let prev = await take();
    let prevAt = Date.now();
    const first = await metrics();
    const page$ = (t: ChartTake) => ({ elementsOutsideLists: t.elements - t.listElements, anomalyRows: t.anomalyRows, eventRows: t.eventRows });
    const samples: ChartSample[] = [{ atS: 0, points: prev.points, readingsPerS: NaN, redrawsPerS: NaN, lagP50: quantile(prev.lags, 0.5), lagMax: prev.lags.length > 0 ? Math.max(...prev.lags) : NaN, lagNow: prev.now - (prev.lastTs ?? NaN), ...first, ...page$(prev) }];
    progress(`device page open on ${deviceId}: ${JSON.stringify(samples[0])}`);
    const end = opened + o.minutes * 60_000;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, Math.min(o.sampleSeconds * 1000, Math.max(0, end - Date.now()))));
      const t = await take();
      const now = Date.now();
      const secs = (now - prevAt) / 1000;
      const from = prev.lastTs ?? -Infinity;
      const to = t.lastTs ?? -Infinity;
      const gained = acked.filter((ts) => ts > from && ts <= to).length;
      const m = await metrics();
      samples.push({
        atS: Math.round((now - opened) / 1000),
        points: t.points,
        readingsPerS: gained / secs,
        redrawsPerS: (t.redraws - prev.redraws) / secs,
        lagP50: quantile(t.lags, 0.5),
        lagMax: t.lags.length > 0 ? Math.max(...t.lags) : NaN,
        lagNow: t.now - (t.lastTs ?? NaN),
        ...m,
        ...page$(t),
      });
      progress(`sample: ${JSON.stringify(samples.at(-1))}`);
      prev = t;
      prevAt = now;
    }
    const later = samples.slice(1);
    const heapSlope = slope(later.map((s) => [s.atS / 60, s.heapMb]));
    const nodesSlope = slope(later.map((s) => [s.atS / 60, s.domNodes]));
    const last = samples.at(-1)!;
    const slopeLine =
      `JS heap after GC: ${round(samples[0]!.heapMb, 2)} MB at open, ${round(later[0]?.heapMb ?? NaN, 2)} MB at ${later[0]?.atS} s, ${round(last.heapMb, 2)} MB at ${last.atS} s; ` +
      `least-squares slope from ${later[0]?.atS} s on ${round(heapSlope, 3)} MB/min (${round(heapSlope * 10, 2)} MB per 10 min); ` +
      `DOM nodes ${samples[0]!.domNodes} → ${last.domNodes} (slope ${round(nodesSlope, 1)}/min)`;
    const sites = o.heapSites ? await heapSites(cdp, o.heapSites.appDir) : undefined;
    stop.abort();
    const stats = await sim;
    const span = (acked.at(-1)! - acked[0]!) / 1000;
    return { deviceId, published: acked.length, publishedPerS: (acked.length - 1) / span, charts: prev.charts, metric: prev.metric ?? "?", samples, heapSlopeMbPerMin: heapSlope, nodesSlopePerMin: nodesSlope, slopeLine, sim: stats, sites };
  } finally {
    stop.abort();
    await sim.catch(() => undefined);
    await context.close();
  }
}

export function chartRows(r: DeviceChartResult): Record<string, string | number>[] {
  return r.samples.map((s) => ({
    "at s": s.atS,
    "points on chart": s.points,
    "new readings/s": Number.isNaN(s.readingsPerS) ? "-" : round(s.readingsPerS, 2),
    "redraws/s": Number.isNaN(s.redrawsPerS) ? "-" : round(s.redrawsPerS, 2),
    "lag p50 ms": Number.isFinite(s.lagP50) ? round(s.lagP50) : "-",
    "lag max ms": Number.isFinite(s.lagMax) ? round(s.lagMax) : "-",
    "lag now ms": round(s.lagNow),
    "JS heap MB (after GC, least of 3)": round(s.heapMb, 3),
    "DOM nodes": s.domNodes,
    "elements outside the lists": s.elementsOutsideLists,
    "anomaly / event rows": `${s.anomalyRows} / ${s.eventRows}`,
    "event listeners": s.listeners,
  }));
}

/**
 * Keeps up: every interval's new readings/s ≥ 95 % of `rate` and its lag p50 < 1 s. Flat memory:
 * the heap's slope after the first sample ≤ 0.1 MB/min (1 MB per 10 min) and the elements outside
 * the bounded anomaly/event tables within 1 % (those tables grow by design, up to 200 and 50 rows).
 */
export function chartVerdict(r: DeviceChartResult, rate: number, minutes: number): string {
  const later = r.samples.slice(1);
  const worstRate = Math.min(...later.map((s) => s.readingsPerS));
  const worstLag = Math.max(...later.map((s) => s.lagP50));
  const keeps = later.length > 0 && worstRate >= 0.95 * rate && worstLag < 1000;
  const nodes = later.map((s) => s.elementsOutsideLists);
  const nodeDrift = (Math.max(...nodes) - Math.min(...nodes)) / Math.max(1, Math.min(...nodes));
  const flat = r.heapSlopeMbPerMin <= 0.1 && nodeDrift <= 0.01;
  const ok = keeps && flat;
  return (
    `target 2 — device chart keeps ${rate} updates/s with flat browser memory (${minutes} min measured${minutes < 10 ? "; the target says 10: --chart-minutes 10" : ""}): ${ok ? "MET" : "MISSED"} ` +
    `(slowest interval ${round(worstRate, 2)} new readings/s, worst lag p50 ${round(worstLag)} ms; heap slope ${round(r.heapSlopeMbPerMin, 3)} MB/min${r.heapSlopeMbPerMin > 0.1 ? " > 0.1" : " ≤ 0.1"}, elements outside the lists drift ${round(nodeDrift * 100, 2)} %${nodeDrift > 0.01 ? " > 1" : ""})`
  );
}
