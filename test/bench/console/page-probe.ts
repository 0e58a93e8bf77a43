/**
 * What bench:console measures inside Chromium. The in-page parts are scripts given as strings (the
 * project's TypeScript has no DOM library): they run before the app (addInitScript) and write to
 * `window.__shoalBench`. Times are `performance.now()`: ms since the navigation started.
 *
 * The network side comes from the DevTools protocol (Network domain: no change to the page): per
 * request its start, response headers, first body bytes and end, mapped onto the page's clock
 * through the request's wall time (`performance.timeOrigin` is the navigation start in epoch ms).
 */
import type { CDPSession } from "playwright-core";

/**
 * Fleet page: the first moment the summary shows a device count (`fleet-count-devices` holds a
 * digit) and the first moment a device row is in the table; each also as "painted": the first
 * task after the next animation frame, by which that frame has been drawn. Plus first-contentful-paint.
 */
export const FLEET_PROBE = `(() => {
  const p = (window.__shoalBench = { countsAt: null, countsText: "", countsPaintAt: null, rowsAt: null, rowsInDom: 0, rowsPaintAt: null, fcp: null, done: false });
  const painted = (key) => requestAnimationFrame(() => setTimeout(() => {
    p[key] = performance.now();
    if (p.countsPaintAt !== null && p.rowsPaintAt !== null) { p.done = true; obs.disconnect(); }
  }, 0));
  const check = () => {
    const now = performance.now();
    if (p.countsAt === null) {
      const el = document.querySelector('[data-testid="fleet-count-devices"]');
      const text = (el && el.textContent) || "";
      if (/[0-9]/.test(text)) { p.countsAt = now; p.countsText = text; painted("countsPaintAt"); }
    }
    if (p.rowsAt === null) {
      const rows = document.querySelectorAll('[data-testid="device-table-row"]');
      if (rows.length > 0) { p.rowsAt = now; p.rowsInDom = rows.length; painted("rowsPaintAt"); }
    }
  };
  const obs = new MutationObserver(check);
  obs.observe(document, { childList: true, subtree: true, characterData: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.name === "first-contentful-paint") p.fcp = e.startTime;
  }).observe({ type: "paint", buffered: true });
})();`;

/** What FLEET_PROBE left in the page. */
export interface FleetProbe {
  readonly countsAt: number | null;
  readonly countsText: string;
  readonly countsPaintAt: number | null;
  readonly rowsAt: number | null;
  readonly rowsInDom: number;
  readonly rowsPaintAt: number | null;
  readonly fcp: number | null;
  readonly done: boolean;
}

/**
 * Device page: every change of the first live chart's `data-last-ts` (its newest point) is a
 * redraw with a new reading; counted, with the lag of that point behind the wall clock then.
 * `take()` returns and resets the lags gathered since the previous call.
 */
export const CHART_PROBE = `(() => {
  const p = (window.__shoalBench = { redraws: 0, lags: [], lastTs: null, points: 0, charts: 0 });
  const chart = () => document.querySelector('[data-testid="device-chart"][data-mode="live"]');
  const seen = () => {
    const c = chart();
    if (!c) return;
    const attr = c.getAttribute("data-last-ts");
    const ts = attr === null ? NaN : Number(attr);
    if (!Number.isFinite(ts) || ts === p.lastTs) return;
    p.lastTs = ts;
    p.redraws++;
    p.points = Number(c.getAttribute("data-points"));
    if (p.lags.length < 100000) p.lags.push(Date.now() - ts);
  };
  new MutationObserver(seen).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-last-ts"] });
  p.take = () => {
    const c = chart();
    const last = c ? c.getAttribute("data-last-ts") : null;
    const out = {
      redraws: p.redraws,
      lags: p.lags,
      lastTs: last === null ? null : Number(last),
      points: c ? Number(c.getAttribute("data-points")) : 0,
      charts: document.querySelectorAll('[data-testid="device-chart"]').length,
      metric: c ? c.getAttribute("data-metric") : null,
      elements: document.getElementsByTagName("*").length,
      listElements: document.querySelectorAll('[data-testid="device-anomalies"] *, [data-testid="device-events"] *').length,
      anomalyRows: document.querySelectorAll('[data-testid="device-anomalies-row"]').length,
      eventRows: document.querySelectorAll('[data-testid="device-events-row"]').length,
      now: Date.now(),
    };
    p.lags = [];
    return out;
  };
})();`;

/** One `take()` of CHART_PROBE. */
export interface ChartTake {
  /** Redraws with a new newest point since the page opened. */
  readonly redraws: number;
  /** Wall-clock lag (ms) of each new newest point when it was drawn, since the previous take. */
  readonly lags: number[];
  readonly lastTs: number | null;
  readonly points: number;
  readonly charts: number;
  readonly metric: string | null;
  /** Elements in the document, and those inside the bounded anomaly (≤ 200) and event (≤ 50) tables. */
  readonly elements: number;
  readonly listElements: number;
  readonly anomalyRows: number;
  readonly eventRows: number;
  readonly now: number;
}

/** One request as the network saw it, in page time (ms since navigation start). */
export interface RequestTiming {
  readonly url: string;
  readonly startAt: number;
  /** Response headers received. */
  readonly headersAt: number | undefined;
  /** First body bytes received (for a server stream: its first message). */
  readonly firstDataAt: number | undefined;
  /** Body complete (never for an open stream). */
  readonly endAt: number | undefined;
}

interface Raw {
  url: string;
  ts: number;
  wall: number;
  headers?: number;
  firstData?: number;
  end?: number;
}

/**
 * Records every request of the page through `cdp` (call before navigating). `timings(timeOrigin)`
 * gives them on the page's clock (pass the page's `performance.timeOrigin`).
 */
export async function recordNetwork(cdp: CDPSession): Promise<{ timings(timeOrigin: number): RequestTiming[] }> {
  const reqs = new Map<string, Raw>();
  cdp.on("Network.requestWillBeSent", (e) => {
    if (!reqs.has(e.requestId)) reqs.set(e.requestId, { url: e.request.url, ts: e.timestamp, wall: e.wallTime });
  });
  cdp.on("Network.responseReceived", (e) => {
    const r = reqs.get(e.requestId);
    if (r && r.headers === undefined) r.headers = e.timestamp;
  });
  cdp.on("Network.dataReceived", (e) => {
    const r = reqs.get(e.requestId);
    if (r && r.firstData === undefined && e.dataLength > 0) r.firstData = e.timestamp;
  });
  cdp.on("Network.loadingFinished", (e) => {
    const r = reqs.get(e.requestId);
    if (r) r.end = e.timestamp;
  });
  await cdp.send("Network.enable");
  return {
    timings(timeOrigin) {
      return [...reqs.values()].map((r) => {
        // The request's monotonic timestamp and wall time name the same instant.
        const at = (ts: number | undefined) => (ts === undefined ? undefined : (r.wall + (ts - r.ts)) * 1000 - timeOrigin);
        return { url: r.url, startAt: at(r.ts)!, headersAt: at(r.headers), firstDataAt: at(r.firstData), endAt: at(r.end) };
      });
    },
  };
}

/** The first request to `…/<service>/<method>` (a Connect/gRPC-web path). */
export const rpc = (ts: readonly RequestTiming[], method: string) => ts.find((t) => t.url.endsWith(`/${method}`));
