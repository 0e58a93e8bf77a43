/**
 * Target 3 of bench:console: ingest throughput of a running pipeline with and without console
 * watchers. Each run is one e2e measurement (test/bench/e2e/run.ts: the load generator in its own
 * process publishing over MQTT QoS 1 with a bounded window per connection, ClickHouse polled for the
 * visible rows, every acknowledged reading checked afterwards); offered far above what is accepted,
 * it publishes as fast as the bridge acknowledges. Stored readings/s are the rows that became
 * visible during the publishing window. Runs alternate A (no watchers) and B (the watchers process,
 * test/bench/console/watchers.ts, opened on this run's devices before publishing starts), each on
 * its own devices, after the previous run's rows have all arrived, ClickHouse's merges are done and
 * the same settle time has passed (a B run would otherwise rest longer, while its watchers open).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { measure, cpuPerReading, type RunResult } from "../e2e/run.js";
import { eventLoopLag, shoalCounters, type ShoalShape } from "../e2e/shoal.js";
import { exited } from "../../support/pipeline.js";
import { waitForMerges } from "../query/load.js";
import { int, median, round } from "./stats.js";

const WATCHERS = fileURLToPath(new URL("./watchers.ts", import.meta.url));

export interface WatcherCounts {
  readonly device: number;
  readonly fleet: number;
  readonly cluster: number;
  readonly alerts: number;
}

export interface WatcherLoadOptions {
  readonly shoal: ShoalShape;
  readonly consoleUrl: string;
  readonly mqttUrl: string;
  readonly chUrl: string;
  /** The database `shoal` writes into. */
  readonly db: string;
  readonly rate: number;
  readonly devices: number;
  readonly seconds: number;
  readonly rounds: number;
  /** Rest before every run once ClickHouse's merges are done, ms (B runs open their watchers inside it). */
  readonly settleMs: number;
  readonly watchers: WatcherCounts;
  /** Service processes whose CPU is sampled too. */
  readonly servicePids: ReadonlyMap<string, number | undefined>;
}

type KindCounts = Record<keyof WatcherCounts, { watchers: number; opened: number; received: number; withMessages: number; minReceived: number; maxReceived: number; errors: string[] }>;

interface Run {
  readonly label: string;
  readonly withWatchers: boolean;
  readonly r: RunResult;
  readonly lag: { p99: number; max: number } | undefined;
  readonly opened?: KindCounts;
  readonly counts?: KindCounts;
}

export interface WatcherLoadResult {
  readonly runs: Run[];
  readonly runRows: Record<string, string | number>[];
  readonly watcherRows: Record<string, string | number>[];
  /** Mean stored readings/s with watchers over without. */
  readonly ratio: number;
  readonly ratioLine: string;
  readonly allLive: boolean;
  /** Highest over lowest stored readings/s of the A runs, minus 1 (NaN with one A run). */
  readonly spread: number;
}

/** The watchers process, once its streams are open. */
async function startWatchers(o: WatcherLoadOptions, prefix: string): Promise<{ child: ChildProcess; opened: KindCounts; report(): Promise<KindCounts>; stop(): Promise<void> }> {
  const w = o.watchers;
  const child = spawn(
    process.execPath,
    ["--import", "tsx", WATCHERS, "--url", o.consoleUrl, "--prefix", prefix, "--device", String(w.device), "--fleet", String(w.fleet), "--cluster", String(w.cluster), "--alerts", String(w.alerts)],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<KindCounts & { t: string }> => {
    const l = await lines.next();
    if (l.done) throw new Error(`the watchers process ended (exit ${child.exitCode})`);
    return JSON.parse(l.value) as KindCounts & { t: string };
  };
  const opened = await next();
  return {
    child,
    opened,
    async report() {
      child.stdin!.write("report\n");
      return next();
    },
    async stop() {
      child.stdin!.end();
      const t = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited(child);
      clearTimeout(t);
    },
  };
}

export async function watcherLoad(o: WatcherLoadOptions, progress: (s: string) => void): Promise<WatcherLoadResult> {
  const upPid = o.shoal.pids.get("up");
  const port = o.shoal.statusPorts.get("up")!;
  const services = [...o.servicePids].filter((e): e is [string, number] => e[1] !== undefined);
  const common = { mqttUrl: o.mqttUrl, chUrl: o.chUrl, db: o.db, devices: o.devices, batch: 1 };
  const counters = () => shoalCounters(o.shoal.statusPorts.values());
  progress("warm-up: 3 s at 3,000 readings/s");
  await measure({ ...common, rate: 3000, seconds: 3, prefix: "cw", procs: new Map(), drainMaxMs: 60_000 });
  const runs: Run[] = [];
  for (let pair = 1; pair <= o.rounds; pair++) {
    for (const withWatchers of [false, true]) {
      const label = `${withWatchers ? "B" : "A"}${pair}`;
      const prefix = `c${pair}${withWatchers ? "b" : "a"}`;
      // The same rest before every run: ClickHouse's merges of the previous run done, then `settleMs`
      // (the watchers open inside it), so a B run does not start on a quieter server than an A run.
      const merges = await waitForMerges(o.chUrl, o.db, 120_000);
      const rest0 = performance.now();
      const watchers = withWatchers ? await startWatchers(o, prefix) : undefined;
      const opening = performance.now() - rest0;
      if (opening > o.settleMs) progress(`${label}: the watchers took ${round(opening)} ms to open, longer than the ${o.settleMs} ms settle`);
      await new Promise((r) => setTimeout(r, Math.max(0, o.settleMs - opening)));
      progress(`${label}: merges settled in ${merges} ms, then ${round(Math.max(opening, o.settleMs))} ms of rest${watchers ? `; watchers open: ${JSON.stringify(watchers.opened)}` : ""}`);
      try {
        // Event-loop lag of `shoal up` per second (each scrape resets prom-client's lag histogram;
        // so do measure()'s counter scrapes: per-second windows lose at most one second).
        const lags: { p99: number; max: number }[] = [];
        let sampling = true;
        const sampler = (async () => {
          await eventLoopLag(port);
          while (sampling) {
            await new Promise((r) => setTimeout(r, 1000));
            const l = await eventLoopLag(port);
            if (l !== undefined && !Number.isNaN(l.max)) lags.push(l);
          }
        })();
        const procs = new Map<string, number>([...(upPid !== undefined ? [["up", upPid] as [string, number]] : []), ...services, ...(watchers ? [["watchers", watchers.child.pid!] as [string, number]] : [])]);
        const r = await measure({ ...common, rate: o.rate, seconds: o.seconds, prefix, procs, drainMaxMs: 300_000, counters });
        sampling = false;
        await sampler;
        const lag = lags.length > 0 ? { p99: Math.max(...lags.map((l) => l.p99)), max: Math.max(...lags.map((l) => l.max)) } : undefined;
        const counts = await watchers?.report();
        runs.push({ label, withWatchers, r, lag, ...(watchers ? { opened: watchers.opened } : {}), ...(counts ? { counts } : {}) });
        progress(`${label}: stored ${int(r.rowsPerSec)}/s, published ${int(r.publishedPerSec)}/s, acked ${int(r.acked)}, lost ${r.lost}, drain ${r.drainMs} ms${counts ? `; watchers received ${JSON.stringify(Object.fromEntries(Object.entries(counts).filter(([k]) => k !== "t").map(([k, v]) => [k, v.received])))}` : ""}`);
      } finally {
        await watchers?.stop();
      }
    }
  }
  return summarize(runs, o);
}

function summarize(runs: Run[], o: WatcherLoadOptions): WatcherLoadResult {
  const runRows = runs.map(({ label, withWatchers, r, lag }) => ({
    run: label,
    watchers: withWatchers ? o.watchers.device + o.watchers.fleet + o.watchers.cluster + o.watchers.alerts : 0,
    "published (acked)/s": int(r.publishedPerSec),
    "stored readings/s": int(r.rowsPerSec),
    acked: int(r.acked),
    lost: r.lost,
    "p50 ms": round(r.p50),
    "p99 ms": round(r.p99),
    "drain ms": r.drainMs,
    "shoal up CPU µs/reading": round(cpuPerReading(r, ["up"]).shoal),
    "watchers process CPU s": withWatchers ? round(r.watch.cpuMs("watchers") / 1000, 1) : "-",
    "event-loop lag ms (up): worst second's p99 / max": lag ? `${round(lag.p99)}/${round(lag.max)}` : "-",
    "published = stored + dl + dup": r.accounting.holds ? "yes" : "no",
  }));
  const watcherRows: Record<string, string | number>[] = [];
  for (const run of runs) {
    if (!run.counts) continue;
    for (const kind of ["device", "fleet", "cluster", "alerts"] as const) {
      const c = run.counts[kind];
      const o0 = run.opened![kind];
      watcherRows.push({
        run: run.label,
        kind: kind === "device" ? "WatchDevice" : kind === "fleet" ? "WatchFleet" : kind === "cluster" ? "WatchCluster" : "WatchAlerts",
        watchers: c.watchers,
        "headers before publishing": o0.opened,
        "failed before publishing": o0.errors.length > 0 ? o0.errors.join("; ") : "none",
        "with ≥ 1 message": c.withMessages,
        "messages received": int(c.received),
        "min / max per watcher": `${c.minReceived} / ${c.maxReceived}`,
        errors: c.errors.length > 0 ? c.errors.join("; ") : "none",
      });
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const a = runs.filter((r) => !r.withWatchers).map((r) => r.r.rowsPerSec);
  const b = runs.filter((r) => r.withWatchers).map((r) => r.r.rowsPerSec);
  const ratio = mean(b) / mean(a);
  const pairRatios = runs.filter((r) => r.withWatchers).map((rb, i) => rb.r.rowsPerSec / runs.filter((r) => !r.withWatchers)[i]!.r.rowsPerSec);
  const pairs = pairRatios.map((x, i) => `B${i + 1}/A${i + 1} ${round(x * 100, 1)} %`);
  const cpu = (rs: Run[]) => mean(rs.map((r) => cpuPerReading(r.r, ["up"]).shoal));
  const cpuA = cpu(runs.filter((r) => !r.withWatchers));
  const cpuB = cpu(runs.filter((r) => r.withWatchers));
  const ratioLine = `shoal up CPU per stored reading: ${round(cpuA)} µs without watchers, ${round(cpuB)} µs with (${round((cpuB / cpuA - 1) * 100, 1)} %)\nstored readings/s: without watchers ${a.map(int).join(", ")} (mean ${int(mean(a))}); with watchers ${b.map(int).join(", ")} (mean ${int(mean(b))}); with/without = ${round(ratio * 100, 1)} % (per pair: ${pairs.join(", ")}; median pair ${round(median(pairRatios) * 100, 1)} %)`;
  // Live: WatchDevice and WatchFleet watchers all got messages and no stream failed.
  const allLive = runs
    .filter((r) => r.counts)
    .every((r) => r.counts!.device.withMessages === r.counts!.device.watchers && r.counts!.fleet.withMessages === r.counts!.fleet.watchers && (["device", "fleet", "cluster", "alerts"] as const).every((k) => r.counts![k].errors.length === 0));
  // The noise floor: how much runs without any change differ among themselves.
  const spread = a.length > 1 ? Math.max(...a) / Math.min(...a) - 1 : NaN;
  return { runs, runRows, watcherRows, ratio, ratioLine: `${ratioLine}\nrun-to-run spread of the A runs alone (no change between them): ${Number.isNaN(spread) ? "-" : `${round(spread * 100, 1)} %`}`, allLive, spread };
}

export function watcherVerdict(res: WatcherLoadResult, total: number): string {
  const ok = res.ratio >= 0.9 && res.allLive;
  return (
    `target 3 — ${total} concurrent watchers at full ingest, throughput within 10 % of none: ${ok ? "MET" : "MISSED"} ` +
    `(with/without ${round(res.ratio * 100, 1)} %${res.ratio < 0.9 ? `, ${round((0.9 - res.ratio) * 100, 1)} points short` : ""}; watchers ${res.allLive ? "all live, no stream failed" : "NOT all live or some failed: see the table"}` +
    `${res.spread > 0.1 ? `; caution: the A runs alone differ by ${round(res.spread * 100, 1)} %, more than the 10 % tested: run more --rounds on a quieter machine` : ""})`
  );
}
