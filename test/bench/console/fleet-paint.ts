/**
 * Target 1 of bench:console: time to first meaningful paint of the fleet page with a large fleet.
 *
 * The fleet is loaded into ClickHouse as bench:query loads it (test/bench/query/load.ts: migrated
 * database, RowBinary inserts, the materialized views fill device_status and the rollups): `devices`
 * devices with `readingsPerDevice` readings each over the last `days` days, a few anomalies with
 * their analyses rows, one `online` event per device. The read side and the console then run in
 * this process (startQueryRole + startConsoleRole, no tokens: no login), and each run opens
 * `<console>/#/fleet` in a fresh browser context (empty cache) of a real Chromium: navigation start
 * → the summary shows the device count AND the first device rows are in the table, as painted.
 * Runs are `gapMs` apart, longer than the fleet interval. With `keepWarm` "0" every run then waits
 * for a fresh fleet computation (a read side that computes only while someone watches); with the
 * default `query.fleetKeepWarm` the read side computes while nobody watches too, and a run gets
 * figures at most that old at once, then fresh ones (what the first operator of the day sees).
 */
import type { Browser } from "playwright-core";
import type { NatsConnection } from "@nats-io/transport-node";
import { createClient, type ServiceImpl } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { QueryService } from "../../../src/gen/shoal/v1/query_pb.js";
import { startQueryRole, type QueryRole } from "../../../src/cli/roles/query-role.js";
import { startConsoleRole, type ConsoleRole } from "../../../src/cli/roles/console-role.js";
import { pipelineConfig, quietLogger } from "../../support/pipeline.js";
import { load, tableSizes, waitForMerges } from "../query/load.js";
import { FLEET_PROBE, recordNetwork, rpc, type FleetProbe, type RequestTiming } from "./page-probe.js";
import { int, median, round } from "./stats.js";
import { cpuBetween, cpuOf, descendants } from "./cpu.js";

export interface FleetPaintOptions {
  readonly chUrl: string;
  readonly chPid: number | undefined;
  readonly natsUrl: string;
  readonly nc: NatsConnection;
  readonly browser: Browser;
  readonly database: string;
  readonly devices: number;
  readonly readingsPerDevice: number;
  readonly days: number;
  readonly runs: number;
  readonly gapMs: number;
  readonly timeoutMs: number;
  /** Also time, interleaved with every run (order alternating), the app built into this folder, served by a second console on the same read side (e.g. an older build). */
  readonly compareAppDir?: string | undefined;
  /** query.fleetKeepWarm of the read side ("0": the fleet is computed only while watched). Default: the config's. */
  readonly keepWarm?: string | undefined;
}

/** One page load, ms since navigation start (undefined: did not happen within the timeout). */
export interface FleetRun {
  readonly run: number;
  readonly fcp: number | undefined;
  readonly countsPainted: number | undefined;
  readonly rowsPainted: number | undefined;
  /** Both painted: the first meaningful paint. */
  readonly meaningful: number | undefined;
  readonly countsText: string;
  readonly rowsInDom: number;
  readonly getInfoStart: number | undefined;
  readonly getInfoEnd: number | undefined;
  readonly listDevicesStart: number | undefined;
  readonly listDevicesEnd: number | undefined;
  readonly watchFleetStart: number | undefined;
  readonly watchFleetFirst: number | undefined;
  readonly appJsEnd: number | undefined;
  /** The same two calls from Node without a browser (gRPC-web, this process), ms: the server's part. */
  readonly serverListDevices: number | undefined;
  readonly serverWatchFleet: number | undefined;
  /** The handlers' own time (call → answer / first message) for the page's calls and for Node's, ms. */
  readonly handlerPage: string;
  readonly handlerNode: string;
  /** The page's renderer main thread until the paint: busy in tasks / in script, ms (DevTools Performance metrics). */
  readonly rendererTaskMs: number | undefined;
  readonly rendererScriptMs: number | undefined;
  /** CPU ms used from navigation to the paint by Chromium (all its processes), this process (the server, and playwright), ClickHouse. */
  readonly cpuChromium: number;
  readonly cpuServer: number;
  readonly cpuClickHouse: number;
  /** Wall ms of that span. */
  readonly wallMs: number;
}

export interface FleetPaintResult {
  readonly loadLine: string;
  readonly sizes: Record<string, string | number>[];
  readonly runs: FleetRun[];
  /** The runs of `compareAppDir`'s app (empty without it). */
  readonly compareRuns: FleetRun[];
  readonly consoleUrl: string;
}

/** Load the fleet, start the read side and the console here, and time `runs` fresh page loads. */
export async function fleetPaint(o: FleetPaintOptions, progress: (s: string) => void): Promise<FleetPaintResult> {
  const endMs = Date.now();
  progress(`loading ${int(o.devices)} devices × ${o.readingsPerDevice} readings over ${o.days} day(s) into ${o.database}`);
  const r = await load(o.chUrl, o.database, { devices: o.devices, perDevice: o.readingsPerDevice, days: o.days, endMs, seed: 1 }, 1_000_000, o.chPid);
  await waitForMerges(o.chUrl, o.database, 120_000);
  const loadLine = `${int(r.rows)} readings, ${int(r.analyses)} analyses, ${int(o.devices)} online events in ${r.seconds.toFixed(1)} s (a reading every ${(r.stepMs / 60_000).toFixed(0)} min per device, the newest ${new Date(endMs).toISOString()})`;
  const sizes = await tableSizes(o.chUrl, o.database);

  const env = { SHOAL__CLICKHOUSE__DATABASE: o.database, SHOAL__QUERY__PORT: "0", SHOAL__QUERY__WEBPORT: "0", ...(o.keepWarm !== undefined ? { SHOAL__QUERY__FLEETKEEPWARM: o.keepWarm } : {}) };
  const cfg = pipelineConfig({ nats: o.natsUrl, mqtt: "mqtt://127.0.0.1:1", clickhouse: o.chUrl }, env);
  let query: QueryRole | undefined;
  let consoleRole: ConsoleRole | undefined;
  let compareRole: ConsoleRole | undefined;
  try {
    query = await startQueryRole(cfg, quietLogger("query"), { nc: o.nc });
    const handlers = timeHandlers(query.query);
    consoleRole = await startConsoleRole(cfg, quietLogger("console"), { query: handlers.impl, alerts: query.alerts, roles: ["query"] });
    if (consoleRole.url === undefined) throw new Error("the console did not start (see the log above)");
    if (o.compareAppDir !== undefined) {
      const cmpCfg = pipelineConfig({ nats: o.natsUrl, mqtt: "mqtt://127.0.0.1:1", clickhouse: o.chUrl }, { ...env, SHOAL__CONSOLE__APPDIR: o.compareAppDir });
      compareRole = await startConsoleRole(cmpCfg, quietLogger("console"), { query: handlers.impl, alerts: query.alerts, roles: ["query"] });
      if (compareRole.url === undefined) throw new Error("the second console did not start (see the log above)");
    }
    const runs: FleetRun[] = [];
    const compareRuns: FleetRun[] = [];
    const compareLoad = async (i: number) => {
      if (compareRole?.url === undefined) return;
      await new Promise((res) => setTimeout(res, o.gapMs));
      handlers.take();
      const load = await oneLoad(o.browser, compareRole.url, i, o.timeoutMs, o.chPid);
      compareRuns.push({ ...load, serverListDevices: undefined, serverWatchFleet: undefined, handlerPage: handlers.take(), handlerNode: "" });
      progress(`run ${i} (${o.compareAppDir}): ${JSON.stringify(compareRuns.at(-1))}`);
    };
    for (let i = 1; i <= o.runs; i++) {
      // Interleaved, the order alternating: neither app always follows the other.
      if (i % 2 === 0) await compareLoad(i);
      await new Promise((res) => setTimeout(res, o.gapMs));
      handlers.take();
      const load = await oneLoad(o.browser, consoleRole.url, i, o.timeoutMs, o.chPid);
      const handlerPage = handlers.take();
      // Interleaved: the page's two calls again from Node, after the same gap (a fresh fleet computation).
      await new Promise((res) => setTimeout(res, o.gapMs));
      const alone = await serverAlone(consoleRole.url);
      runs.push({ ...load, ...alone, handlerPage, handlerNode: handlers.take() });
      progress(`run ${i}: ${JSON.stringify(runs.at(-1))}`);
      if (i % 2 === 1) await compareLoad(i);
    }
    return { loadLine, sizes, runs, compareRuns, consoleUrl: consoleRole.url };
  } finally {
    await compareRole?.close();
    await consoleRole?.close();
    await query?.close();
  }
}

async function oneLoad(browser: Browser, consoleUrl: string, run: number, timeoutMs: number, chPid: number | undefined): Promise<FleetRun> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    const net = await recordNetwork(cdp);
    await cdp.send("Performance.enable");
    await page.addInitScript({ content: FLEET_PROBE });
    const procs = () => [...descendants(process.pid, /chrom/i), process.pid, ...(chPid !== undefined ? [chPid] : [])];
    const cpu0 = cpuOf(procs());
    const wall0 = performance.now();
    await page.goto(`${consoleUrl}/#/fleet`);
    await page.waitForFunction("window.__shoalBench && window.__shoalBench.done", undefined, { timeout: timeoutMs }).catch(() => undefined);
    const cpu1 = cpuOf(procs());
    const wallMs = performance.now() - wall0;
    const part = (keep: (pid: number) => boolean) => round(cpuBetween(new Map([...cpu0].filter(([p]) => keep(p))), new Map([...cpu1].filter(([p]) => keep(p)))));
    const metrics = new Map((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value] as const));
    const p = (await page.evaluate("window.__shoalBench")) as FleetProbe;
    const origin = (await page.evaluate("performance.timeOrigin")) as number;
    const ts = net.timings(origin);
    const n = (x: number | null | undefined) => (x === null || x === undefined ? undefined : round(x, 1));
    const list = rpc(ts, "ListDevices");
    const watch = rpc(ts, "WatchFleet");
    return {
      run,
      fcp: n(p.fcp),
      countsPainted: n(p.countsPaintAt),
      rowsPainted: n(p.rowsPaintAt),
      meaningful: p.done ? n(Math.max(p.countsPaintAt!, p.rowsPaintAt!)) : undefined,
      countsText: p.countsText,
      rowsInDom: p.rowsInDom,
      getInfoStart: n(rpc(ts, "GetInfo")?.startAt),
      getInfoEnd: n(rpc(ts, "GetInfo")?.endAt),
      listDevicesStart: n(list?.startAt),
      listDevicesEnd: n(list?.endAt),
      watchFleetStart: n(watch?.startAt),
      watchFleetFirst: n(watch?.firstDataAt),
      appJsEnd: n(initialJsEnd(ts)),
      serverListDevices: undefined,
      serverWatchFleet: undefined,
      handlerPage: "",
      handlerNode: "",
      rendererTaskMs: n((metrics.get("TaskDuration") ?? NaN) * 1000),
      rendererScriptMs: n((metrics.get("ScriptDuration") ?? NaN) * 1000),
      cpuChromium: part((p) => p !== process.pid && p !== chPid),
      cpuServer: part((p) => p === process.pid),
      cpuClickHouse: part((p) => p === chPid),
      wallMs: round(wallMs),
    };
  } finally {
    await context.close();
  }
}

/**
 * When the page's JS was loaded: the end of the last script requested before its first RPC (the
 * app's entry scripts and the chunks they import; not the chunks of other pages loaded later).
 */
function initialJsEnd(ts: readonly RequestTiming[]): number | undefined {
  const firstRpc = Math.min(...ts.filter((t) => /\/shoal\.v1\.\w+\/\w+$/.test(t.url)).map((t) => t.startAt));
  const js = ts.filter((t) => /\.js$/.test(t.url) && t.startAt < firstRpc && t.endAt !== undefined).map((t) => t.endAt!);
  return js.length === 0 ? undefined : Math.max(...js);
}

/** QueryService with ListDevices and WatchFleet timed inside the server (the handler's own time). */
function timeHandlers(impl: ServiceImpl<typeof QueryService>): { impl: ServiceImpl<typeof QueryService>; take(): string } {
  let log: string[] = [];
  const wrapped: ServiceImpl<typeof QueryService> = {
    ...impl,
    async listDevices(req, ctx) {
      const t = performance.now();
      try {
        return await impl.listDevices(req, ctx);
      } finally {
        log.push(`ListDevices ${round(performance.now() - t)}`);
      }
    },
    async *watchFleet(req, ctx) {
      const t = performance.now();
      let first = true;
      for await (const m of impl.watchFleet(req, ctx)) {
        if (first) log.push(`WatchFleet ${round(performance.now() - t)}`);
        first = false;
        yield m;
      }
    },
  };
  return {
    impl: wrapped,
    take() {
      const out = log.join(", ");
      log = [];
      return out;
    },
  };
}

/** The fleet table's first ListDevices page (src/console-app/api/early-calls.ts FIRST_DEVICE_PAGE_SIZE). */
export const FIRST_PAGE = 200;

/** ListDevices (the app's first page) and WatchFleet's first message, at once as the page asks them, from Node. */
async function serverAlone(consoleUrl: string): Promise<Pick<FleetRun, "serverListDevices" | "serverWatchFleet">> {
  const client = createClient(QueryService, createGrpcWebTransport({ baseUrl: consoleUrl, httpVersion: "1.1" }));
  const stop = new AbortController();
  const t0 = performance.now();
  const list = client.listDevices({ pageSize: FIRST_PAGE }).then(() => performance.now() - t0);
  const fleet = (async () => {
    for await (const _ of client.watchFleet({ top: 10 }, { signal: stop.signal })) return performance.now() - t0;
    return undefined;
  })();
  try {
    const [l, f] = await Promise.all([list, fleet]);
    return { serverListDevices: round(l, 1), serverWatchFleet: f === undefined ? undefined : round(f, 1) };
  } finally {
    stop.abort();
  }
}

/** The runs as a table (ms since navigation start). */
export function fleetRows(runs: readonly FleetRun[]): Record<string, string | number | undefined>[] {
  return runs.map((r) => ({
    run: r.run,
    "FCP": r.fcp,
    "JS loaded": r.appJsEnd,
    "GetInfo sent → done": r.getInfoStart === undefined ? "-" : `${r.getInfoStart} → ${r.getInfoEnd ?? "never"}`,
    "ListDevices sent → done": r.listDevicesStart === undefined ? "-" : `${r.listDevicesStart} → ${r.listDevicesEnd ?? "never"}`,
    "ListDevices ms": r.listDevicesEnd !== undefined && r.listDevicesStart !== undefined ? round(r.listDevicesEnd - r.listDevicesStart, 1) : undefined,
    "WatchFleet sent → 1st message": r.watchFleetStart === undefined ? "-" : `${r.watchFleetStart} → ${r.watchFleetFirst ?? "never"}`,
    "WatchFleet ms": r.watchFleetFirst !== undefined && r.watchFleetStart !== undefined ? round(r.watchFleetFirst - r.watchFleetStart, 1) : undefined,
    "in the server (page's calls)": r.handlerPage,
    "from Node: ListDevices / WatchFleet ms": `${r.serverListDevices ?? "-"} / ${r.serverWatchFleet ?? "-"}`,
    "in the server (Node's calls)": r.handlerNode,
    "renderer busy / in script ms": `${r.rendererTaskMs ?? "-"} / ${r.rendererScriptMs ?? "-"}`,
    "CPU ms Chromium / server process / ClickHouse (wall ms)": `${r.cpuChromium} / ${r.cpuServer} / ${r.cpuClickHouse} (${r.wallMs})`,
    "counts painted": r.countsPainted,
    "rows painted": r.rowsPainted,
    "meaningful paint": r.meaningful ?? "not within the timeout",
    "count shown": r.countsText,
    "rows in DOM": r.rowsInDom,
  }));
}

/** min / median / max of each timing over the runs. */
export function fleetSummary(runs: readonly FleetRun[]): Record<string, string | number>[] {
  const cols: [string, (r: FleetRun) => number | undefined][] = [
    ["first-contentful-paint", (r) => r.fcp],
    ["the page's JS loaded (before its first call)", (r) => r.appJsEnd],
    ["GetInfo sent (the page's first script ran)", (r) => r.getInfoStart],
    ["GetInfo done", (r) => r.getInfoEnd],
    ["ListDevices (the table's first page), round trip", (r) => (r.listDevicesEnd !== undefined && r.listDevicesStart !== undefined ? r.listDevicesEnd - r.listDevicesStart : undefined)],
    ["WatchFleet, request → first message", (r) => (r.watchFleetFirst !== undefined && r.watchFleetStart !== undefined ? r.watchFleetFirst - r.watchFleetStart : undefined)],
    [`from Node (no browser): ListDevices (${FIRST_PAGE})`, (r) => r.serverListDevices],
    ["from Node (no browser): WatchFleet first message", (r) => r.serverWatchFleet],
    ["summary counts painted", (r) => r.countsPainted],
    ["first device rows painted", (r) => r.rowsPainted],
    ["first meaningful paint (both)", (r) => r.meaningful],
  ];
  return cols.flatMap(([name, f]) => {
    const xs = runs.map(f).filter((x): x is number => x !== undefined);
    if (xs.length === 0) return [];
    return { "ms since navigation start": name, runs: xs.length, min: round(Math.min(...xs), 1), median: round(median(xs), 1), max: round(Math.max(...xs), 1) };
  });
}
