/**
 * npm run bench:console [-- --only fleet,chart,watchers --fleet-devices 100000 --chart-minutes 10 --watch-seconds 30 --rounds 2]
 *
 * The operators' console (docs/adr/0018-console.md, issue 16) against its three targets, on real
 * services started by test/harness (nats-server with JetStream, Mosquitto, ClickHouse 18.16) and a
 * real Chromium (Debian's, driven by playwright-core). Prints tables and one verdict line per
 * target; never asserts.
 *
 * 1. fleet: time to first meaningful paint of `#/fleet` with `--fleet-devices` (100,000) devices in
 *    ClickHouse, the read side and the console in this process (test/bench/console/fleet-paint.ts).
 *    Target: < 1 s (median of `--fleet-runs` fresh page loads).
 * 2. chart: `shoal up` (one process: bridge, runtime, query, console) with the device simulator
 *    publishing one device at `--chart-rate` (10) readings/s over MQTT; `#/device/<id>` open for
 *    `--chart-minutes` (2; the target says 10), sampled every `--sample-seconds` (30): new readings
 *    on the chart per second, redraws, lag, JS heap after a forced GC, DOM nodes
 *    (test/bench/console/device-chart.ts). Target: keeps 10 updates/s with flat memory.
 * 3. watchers: the same `shoal up` saturated by the e2e load generator (as fast as readings are
 *    acknowledged) for `--watch-seconds`, without and with 200 watchers (100 WatchDevice on the busy
 *    devices, 50 WatchFleet, 25 WatchCluster, 25 WatchAlerts over gRPC-web from another process),
 *    interleaved A B A B (`--rounds`) (test/bench/console/watcher-load.ts). Target: stored
 *    readings/s with watchers within 10 % of without.
 */
import { parseArgs } from "node:util";
import { loadavg } from "node:os";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import type { Browser } from "playwright-core";
import { startClickHouse, startMosquitto, startNats, type ServiceHandle } from "../harness/index.js";
import { launchChromium, CHROMIUM } from "../support/browser.js";
import { defaultAppDir } from "../../src/console/index.js";
import { pidOfPort } from "./e2e/procstat.js";
import { startShoal, type ShoalShape } from "./e2e/shoal.js";
import { fleetPaint, fleetRows, fleetSummary } from "./console/fleet-paint.js";
import { deviceChart, chartRows, chartVerdict } from "./console/device-chart.js";
import { watcherLoad, watcherVerdict } from "./console/watcher-load.js";
import { int, median, round, since } from "./console/stats.js";

const { values } = parseArgs({
  options: {
    only: { type: "string", default: "fleet,chart,watchers" },
    "fleet-devices": { type: "string", default: "100000" },
    "fleet-readings": { type: "string", default: "12" },
    "fleet-days": { type: "string", default: "1" },
    "fleet-runs": { type: "string", default: "5" },
    "fleet-gap": { type: "string", default: "3" },
    "fleet-compare": { type: "string" },
    "fleet-keep-warm": { type: "string" },
    "chart-minutes": { type: "string", default: "2" },
    "chart-rate": { type: "string", default: "10" },
    "sample-seconds": { type: "string", default: "30" },
    "heap-sites": { type: "boolean", default: false },
    "watch-seconds": { type: "string", default: "20" },
    rounds: { type: "string", default: "2" },
    settle: { type: "string", default: "10" },
    rate: { type: "string", default: "50000" },
    devices: { type: "string", default: "1000" },
    "watch-device": { type: "string", default: "100" },
    "watch-fleet": { type: "string", default: "50" },
    "watch-cluster": { type: "string", default: "25" },
    "watch-alerts": { type: "string", default: "25" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(`npm run bench:console -- [options]
  --only fleet,chart,watchers   targets to run (default all three)
  --fleet-devices N       devices in ClickHouse for the fleet page (default 100000)
  --fleet-readings N      readings per device (default 12: 1.2 M readings, one every 2 h per device)
  --fleet-days D          days the readings span, ending now (default 1)
  --fleet-runs N          fresh page loads timed (default 5)
  --fleet-gap S           seconds between page loads, > the 2 s fleet interval (default 3)
  --fleet-keep-warm D     query.fleetKeepWarm of the read side (0: compute the fleet only while watched; default 15s)
  --fleet-compare DIR     also time the app built into DIR (e.g. a copy of an older dist/console), interleaved with every run
                          on a second console of the same read side (its own table; the verdict is the current app's)
  --chart-minutes M       minutes the device page stays open (default 2; the target is 10)
  --chart-rate R          readings/s of the charted device (default 10)
  --sample-seconds S      sampling period of the device page (default 30)
  --heap-sites            also print where the device page's live heap was allocated (sampling heap profiler)
  --watch-seconds S       publishing seconds per run of the watcher target (default 20)
  --rounds N              A (no watchers) B (watchers) pairs, interleaved (default 2)
  --settle S              rest before every run once ClickHouse's merges are done; B opens its watchers inside it (default 10)
  --rate R                offered readings/s (default 50000: more than is accepted, so as fast as acknowledged)
  --devices N             devices of the load generator (default 1000)
  --watch-device N --watch-fleet N --watch-cluster N --watch-alerts N   watchers by kind (100, 50, 25, 25)`);
  process.exit(0);
}
const num = (k: keyof typeof values) => Number(values[k]);
const only = new Set(values.only.split(",").filter(Boolean));
for (const t of only) if (!["fleet", "chart", "watchers"].includes(t)) throw new Error(`--only: unknown target "${t}" (known: fleet, chart, watchers)`);
const t0 = performance.now();
const progress = (s: string) => console.error(`  [${since(t0)}] ${s}`);
const verdicts: string[] = [];
/** Other work on this shared machine shows in its load average (2 cores: 2.0 is full). */
const machine = () => `load average ${loadavg().map((x) => x.toFixed(2)).join(" / ")} (1 / 5 / 15 min)`;

// The app as `npm start` serves it (built when missing or older than its sources).
const build = spawnSync(process.execPath, [fileURLToPath(new URL("../../scripts/build-console.mjs", import.meta.url)), "--if-missing"], { encoding: "utf8" });
if (build.status !== 0) throw new Error(`the console app did not build:\n${build.stdout}${build.stderr}`);
progress(build.stdout.trim().split("\n")[0] ?? "");

const [nats, mq, ch] = await Promise.all([startNats(), startMosquitto(), startClickHouse()]);
const services: ServiceHandle[] = [nats, mq, ch];
const nc = await connect({ servers: nats.url });
let browser: Browser | undefined;
let shoal: ShoalShape | undefined;
try {
  const chVersion = (await (await fetch(`${ch.url}/?query=SELECT%20version()`)).text()).trim();
  browser = await launchChromium();
  console.log(`bench:console — ClickHouse ${chVersion}, nats-server, Mosquitto (test/harness); ${CHROMIUM} ${browser.version()} headless; every process on this machine (2 cores)`);

  if (only.has("fleet")) {
    const devices = num("fleet-devices");
    console.log(`\n[${machine()}]`);
    console.log(`1. Fleet page, first meaningful paint with ${int(devices)} devices: read side + console in this process, ${num("fleet-runs")} fresh page loads (new browser context each), ${num("fleet-gap")} s apart; query.fleetKeepWarm ${values["fleet-keep-warm"] ?? "15s (default)"}`);
    const res = await fleetPaint(
      {
        chUrl: ch.url,
        chPid: pidOfPort(ch.port),
        natsUrl: nats.url,
        nc,
        browser,
        database: "bench_console_fleet",
        devices,
        readingsPerDevice: num("fleet-readings"),
        days: num("fleet-days"),
        runs: num("fleet-runs"),
        gapMs: num("fleet-gap") * 1000,
        timeoutMs: 30_000,
        compareAppDir: values["fleet-compare"],
        keepWarm: values["fleet-keep-warm"],
      },
      progress,
    );
    console.log(`loaded: ${res.loadLine}`);
    console.table(res.sizes);
    console.log(`page loads of ${res.consoleUrl}/#/fleet (ms since navigation start; "painted": the first task after the next animation frame):`);
    console.table(fleetRows(res.runs));
    console.table(fleetSummary(res.runs));
    if (res.compareRuns.length > 0) {
      console.log(`the same page loads of the app in ${values["fleet-compare"]} (interleaved with the runs above, the order alternating; same read side):`);
      console.table(fleetRows(res.compareRuns));
      console.table(fleetSummary(res.compareRuns));
      const cmp = res.compareRuns.map((r) => r.meaningful).filter((x): x is number => x !== undefined);
      console.log(`first meaningful paint, median: ${round(median(res.runs.map((r) => r.meaningful).filter((x): x is number => x !== undefined)))} ms (dist/console) vs ${round(median(cmp))} ms (${values["fleet-compare"]})`);
    }
    const fmp = res.runs.map((r) => r.meaningful).filter((x): x is number => x !== undefined);
    const shown = res.runs.every((r) => Number(r.countsText.replace(/[^\d]/g, "")) === devices);
    const med = median(fmp);
    const ok = fmp.length === res.runs.length && med < 1000 && shown;
    verdicts.push(
      `target 1 — fleet page first meaningful paint with ${int(devices)} devices < 1 s: ${ok ? "MET" : "MISSED"} (median ${round(med)} ms, min ${round(Math.min(...fmp))}, max ${round(Math.max(...fmp))} ms over ${fmp.length}/${res.runs.length} runs; ` +
        `count shown ${shown ? `= ${int(devices)}` : `≠ ${int(devices)}: ${res.runs.map((r) => r.countsText).join(", ")}`}${ok ? "" : med >= 1000 ? `; over by ${round(med - 1000)} ms` : ""})`,
    );
  }

  if (only.has("chart") || only.has("watchers")) {
    progress("starting shoal up (bridge, runtime, query, console in one process)");
    shoal = await startShoal("up", {
      SHOAL_ENV: "test",
      SHOAL__NATS__URL: nats.url,
      SHOAL__MQTT__URL: mq.url,
      SHOAL__CLICKHOUSE__URL: ch.url,
      SHOAL__CLICKHOUSE__DATABASE: "bench_console_live",
      SHOAL__QUERY__WEBPORT: "0",
    });
    const consoleUrl = /console: (http:\/\/[^\s/]+)\//.exec(shoal.log())?.[1];
    if (consoleUrl === undefined) throw new Error(`shoal up printed no console URL:\n${shoal.log().slice(-3000)}`);
    progress(`shoal up ready, console at ${consoleUrl}`);

    if (only.has("chart")) {
      const minutes = num("chart-minutes");
      console.log(`\n[${machine()}]`);
      console.log(`2. Device chart: one simulated device at ${num("chart-rate")} readings/s over MQTT into shoal up; #/device/<id> open ${minutes} min, sampled every ${num("sample-seconds")} s`);
      const res = await deviceChart({ browser, consoleUrl, mqttUrl: mq.url, rate: num("chart-rate"), minutes, sampleSeconds: num("sample-seconds"), ...(values["heap-sites"] ? { heapSites: { appDir: defaultAppDir() } } : {}) }, progress);
      console.log(`device ${res.deviceId}: ${res.published} readings acknowledged by the broker at ${round(res.publishedPerS, 2)}/s; ${res.charts} live charts on the page (the first, "${res.metric}", is measured); the live window keeps at most 5,000 points / 15 min`);
      console.table(chartRows(res));
      console.log(res.slopeLine);
      if (res.sites) {
        console.log("where the page's live JS heap was allocated since it opened (sampling heap profiler, after a forced GC; largest sites):");
        console.table(res.sites);
      }
      verdicts.push(chartVerdict(res, num("chart-rate"), minutes));
    }

    if (only.has("watchers")) {
      const watchers = { device: num("watch-device"), fleet: num("watch-fleet"), cluster: num("watch-cluster"), alerts: num("watch-alerts") };
      const total = watchers.device + watchers.fleet + watchers.cluster + watchers.alerts;
      console.log(`\n[${machine()}]`);
      console.log(
        `3. Ingest with ${total} console watchers vs none: shoal up saturated by the e2e load generator (${int(num("devices"))} devices, offered ${int(num("rate"))}/s, window-limited: as fast as acknowledged) for ${num("watch-seconds")} s per run, A = no watchers, B = ${watchers.device} WatchDevice + ${watchers.fleet} WatchFleet + ${watchers.cluster} WatchCluster + ${watchers.alerts} WatchAlerts (gRPC-web, one HTTP/1.1 connection and caller each, from a separate process), interleaved`,
      );
      const res = await watcherLoad(
        { shoal, consoleUrl, mqttUrl: mq.url, chUrl: ch.url, db: "bench_console_live", rate: num("rate"), devices: num("devices"), seconds: num("watch-seconds"), rounds: num("rounds"), settleMs: num("settle") * 1000, watchers, servicePids: new Map([["nats", pidOfPort(nats.port)], ["mosquitto", pidOfPort(mq.port)], ["clickhouse", pidOfPort(ch.port)]]) },
        progress,
      );
      console.table(res.runRows);
      console.log("what the watchers received during each B run (proof they were live; a Connect server sends a stream's headers with its first message, so WatchDevice and WatchAlerts show theirs only once data comes):");
      console.table(res.watcherRows);
      console.log(res.ratioLine);
      verdicts.push(watcherVerdict(res, total));
    }
  }
} finally {
  await browser?.close();
  await shoal?.stop();
  await nc.close();
  await Promise.all(services.map((s) => s.cleanup()));
}
console.log(`\n[${machine()}]\nverdicts (${since(t0)} in all):`);
for (const v of verdicts) console.log(v);
