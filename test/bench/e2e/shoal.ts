import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../harness/index.js";
import { exited, waitFor } from "../../support/pipeline.js";

const MAIN = fileURLToPath(new URL("../../../src/cli/main.ts", import.meta.url));

/** A running Shoal shape: `up` (one process) or `split` (bridge + runtime processes). */
export interface ShoalShape {
  readonly name: "up" | "split";
  /** Role process pids by role name. */
  readonly pids: ReadonlyMap<string, number>;
  /** HTTP status ports by role name (/metrics, /readyz). */
  readonly statusPorts: ReadonlyMap<string, number>;
  /** Everything the processes printed. */
  log(): string;
  /** SIGTERM every process (graceful), SIGKILL after 60 s. */
  stop(): Promise<void>;
}

/** The MQTT client ids of the bridge (shared group "bench", node "bench"): cleared between runs. */
export const BENCH_BRIDGE_CLIENT_IDS = Array.from({ length: 4 }, (_, i) => `bench-bench-${i}`);

function spawnShoal(args: string[], env: Record<string, string>, onOut: (s: string) => void): ChildProcess {
  // As bin/shoal.mjs runs it (same V8 flags).
  // SHOAL_BENCH_PROFILE=<dir>: V8 CPU profiles of Shoal's processes (and their worker threads) there.
  // SHOAL_BENCH_NODE_FLAGS="--trace-gc …": more V8/Node flags for them (NODE_OPTIONS refuses some).
  const prof = process.env["SHOAL_BENCH_PROFILE"];
  const flags = [...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : []), ...(process.env["SHOAL_BENCH_NODE_FLAGS"] ?? "").split(/\s+/).filter(Boolean)];
  const child = spawn(process.execPath, ["--max-semi-space-size=64", ...flags, "--import", "tsx", MAIN, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (d: Buffer) => onOut(d.toString()));
  child.stderr!.on("data", (d: Buffer) => onOut(d.toString()));
  return child;
}

async function ready(port: number, what: string, child?: ChildProcess): Promise<void> {
  await waitFor(
    async () => {
      if (child !== undefined && child.exitCode !== null) throw new Error(`${what}: the process exited with code ${child.exitCode}`);
      return (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status).catch(() => 0)) === 200;
    },
    (ok) => ok,
    300_000,
    what,
  );
}

/** A shape that did not become ready: stop its processes and fail with the end of their log. */
function failStart(e: Error, out: string, children: Map<string, ChildProcess>): never {
  for (const c of children.values()) c.kill("SIGKILL");
  throw new Error(`${e.message}\n--- last output ---\n${out.slice(-4000)}`, { cause: e });
}

/** Start a shape on the given services (env: SHOAL__* URLs and names) and wait until it is ready. */
export async function startShoal(name: "up" | "split", env: Record<string, string>): Promise<ShoalShape> {
  let out = "";
  const onOut = (s: string) => {
    out += s;
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
  };
  // The read side of `shoal up` (query role, vector indexer) on a free port and a vector store of its own.
  const readSide = { SHOAL__QUERY__PORT: "0", SHOAL__VECTORS__EMBEDDED__DIR: mkdtempSync(join(tmpdir(), "shoal-bench-vectors-")) };
  const base = { ...readSide, ...env, SHOAL__NODEID: "bench", SHOAL__MQTT__SHAREDGROUP: "bench", SHOAL__CLUSTER__ENABLED: "false", SHOAL__ADMIN__PORT: "0", SHOAL__LOG__LEVEL: "info" };
  const children = new Map<string, ChildProcess>();
  const ports = new Map<string, number>();
  if (name === "up") {
    const port = await freePort();
    children.set("up", spawnShoal(["up", "--no-stack"], { ...base, SHOAL__GRPC__WEBPORT: String(port) }, onOut));
    ports.set("up", port);
    await ready(port, "shoal up to be ready", children.get("up")).catch((e: Error) => failStart(e, out, children));
  } else {
    const rp = await freePort();
    children.set("runtime", spawnShoal(["runtime"], { ...base, SHOAL__GRPC__WEBPORT: String(rp) }, onOut));
    ports.set("runtime", rp);
    await ready(rp, "shoal runtime to be ready", children.get("runtime")).catch((e: Error) => failStart(e, out, children));
    const bp = await freePort();
    children.set("bridge", spawnShoal(["bridge"], { ...base, SHOAL__GRPC__WEBPORT: String(bp) }, onOut));
    ports.set("bridge", bp);
    await waitFor(async () => out, (o) => o.includes('"bridge started"'), 120_000, "shoal bridge to start");
  }
  // Let the MQTT subscriptions settle.
  await new Promise((r) => setTimeout(r, 1000));
  return {
    name,
    pids: new Map([...children].map(([k, c]) => [k, c.pid!])),
    statusPorts: ports,
    log: () => out,
    async stop() {
      // Bridge first: it hands its held readings to the journal before the runtime goes.
      for (const role of ["bridge", "up", "runtime"]) {
        const c = children.get(role);
        if (c === undefined || c.exitCode !== null || c.signalCode !== null) continue;
        c.kill("SIGTERM");
        const t = setTimeout(() => c.kill("SIGKILL"), 60_000);
        await exited(c);
        clearTimeout(t);
      }
    },
  };
}

/** Event-loop lag p99 and max (ms) of a role since its previous scrape (prom-client resets them per scrape). */
export async function eventLoopLag(port: number): Promise<{ p99: number; max: number } | undefined> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => "");
  const v = (n: string) => Number(new RegExp(`^${n} ([0-9.eE+-]+)$`, "m").exec(text)?.[1] ?? NaN) * 1000;
  const p99 = v("shoal_nodejs_eventloop_lag_p99_seconds");
  return Number.isNaN(p99) ? undefined : { p99, max: v("shoal_nodejs_eventloop_lag_max_seconds") };
}

/** Incidents a role reported (`shoal_incidents_total{kind}`), by kind. */
export async function incidentCounts(port: number): Promise<Map<string, number>> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => "");
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^shoal_incidents_total\{[^}]*kind="([^"]+)"[^}]*\} ([0-9.eE+-]+)$/gm)) out.set(m[1]!, (out.get(m[1]!) ?? 0) + Number(m[2]));
  return out;
}

/** Cumulative bucket counts of `shoal_reading_stage_seconds` by stage (upper bound s → count). */
export type StageBuckets = Map<string, Map<number, number>>;

/** The stage histograms of a role (ADR 0009), and its sink's insert times as stage "insert", as scraped now. */
export async function stageBuckets(port: number): Promise<StageBuckets> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => "");
  const out: StageBuckets = new Map();
  for (const m of text.matchAll(/^shoal_reading_stage_seconds_bucket\{([^}]*)\} ([0-9.eE+-]+)$/gm)) {
    const stage = /stage="([a-z]+)"/.exec(m[1]!)?.[1];
    const leText = /le="([^"]+)"/.exec(m[1]!)?.[1];
    if (stage === undefined || leText === undefined) continue;
    if (!out.has(stage)) out.set(stage, new Map());
    out.get(stage)!.set(leText === "+Inf" ? Infinity : Number(leText), Number(m[2]));
  }
  // The sink's inserts themselves (start to answer), as a stage named "insert".
  for (const m of text.matchAll(/^shoal_sink_insert_seconds_bucket\{le="([^"]+)"\} ([0-9.eE+-]+)$/gm)) {
    if (!out.has("insert")) out.set("insert", new Map());
    out.get("insert")!.set(m[1] === "+Inf" ? Infinity : Number(m[1]), Number(m[2]));
  }
  return out;
}

/**
 * p50 and p99 (ms) of each stage between two scrapes: the upper bound of the bucket holding the
 * quantile (a coarse, honest estimate: the buckets are 1, 2.5, 5, 10, 25, 50, 75, 100, 150, 200, 300, 500 ms, ...).
 */
export function stageQuantiles(before: StageBuckets, after: StageBuckets): Map<string, { n: number; p50: number; p99: number }> {
  const res = new Map<string, { n: number; p50: number; p99: number }>();
  for (const [stage, b] of after) {
    const les = [...b.keys()].sort((x, y) => x - y);
    const counts = les.map((le) => (b.get(le) ?? 0) - (before.get(stage)?.get(le) ?? 0));
    const n = counts.at(-1) ?? 0;
    if (n <= 0) continue;
    const q = (f: number) => {
      const i = counts.findIndex((c) => c >= f * n);
      return les[i]! * 1000;
    };
    res.set(stage, { n, p50: q(0.5), p99: q(0.99) });
  }
  return res;
}

/** One line: journal messages, runtime batches and inserts per second between two scrapes, and their sizes. */
export function workUnitsLine(before: ShoalCounters, after: ShoalCounters, seconds: number): string {
  const d = (u: string) => (after.pipeline.get(u) ?? 0) - (before.pipeline.get(u) ?? 0);
  const per = (n: string, d1: number) => (d1 > 0 ? (d(n) / d1).toFixed(1) : "–");
  const s = Math.max(1, seconds);
  return (
    `journal messages ${Math.round(d("bridge.batches") / s)}/s (${per("bridge.accepted", d("bridge.batches"))} readings each), ` +
    `runtime batches ${Math.round(d("runtime.batches") / s)}/s (${per("runtime.pulled", d("runtime.batches"))} messages each), ` +
    `inserts ${Math.round(d("sink.inserts") / s)}/s (${per("sink.rowsWritten", d("sink.inserts"))} rows each)`
  );
}

/** Counters of running Shoal roles, read from their status pages. */
export interface ShoalCounters {
  /** `shoal_<role>_<name>_total` of the bridge, runtime and sink as "role.name" (camel case) → value, summed over the roles scraped. */
  readonly pipeline: ReadonlyMap<string, number>;
  /** `shoal_actor_events_total{actor_type="device"}` by event, summed over workers and roles. */
  readonly device: Readonly<Record<string, number>>;
  /** The bridge's rejections by code (`shoal_bridge_rejected_by_code_total{code}`), summed over the roles scraped. */
  readonly rejectedByCode: Readonly<Record<string, number>>;
  /** Every status page answered. */
  readonly reachable: boolean;
}

function labelsOf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/([a-z_]+)="([^"]*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

/** Scrape `/metrics` of every status port (one per role process) and sum what they report. */
export async function shoalCounters(ports: Iterable<number>): Promise<ShoalCounters> {
  const pipeline = new Map<string, number>();
  const device: Record<string, number> = {};
  const rejectedByCode: Record<string, number> = {};
  let reachable = true;
  for (const port of ports) {
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => (r.ok ? r.text() : undefined)).catch(() => undefined);
    if (metrics === undefined) reachable = false;
    // The roles' counters: shoal_<role>_<name>_total (src/observability/metrics.ts), as "role.name" (camel case).
    for (const m of (metrics ?? "").matchAll(/^shoal_(bridge|runtime|sink)_([a-z_]+?)_total ([0-9.eE+-]+)$/gm)) {
      const k = `${m[1]}.${m[2]!.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())}`;
      pipeline.set(k, (pipeline.get(k) ?? 0) + Number(m[3]));
    }
    for (const m of (metrics ?? "").matchAll(/^shoal_actor_events_total\{([^}]*)\} ([0-9.eE+-]+)$/gm)) {
      const l = labelsOf(m[1]!);
      if (l["actor_type"] !== "device" || l["event"] === undefined) continue;
      device[l["event"]] = (device[l["event"]] ?? 0) + Number(m[2]);
    }
    for (const m of (metrics ?? "").matchAll(/^shoal_bridge_rejected_by_code_total\{([^}]*)\} ([0-9.eE+-]+)$/gm)) {
      const code = labelsOf(m[1]!)["code"];
      if (code !== undefined) rejectedByCode[code] = (rejectedByCode[code] ?? 0) + Number(m[2]);
    }
  }
  return { pipeline, device, rejectedByCode, reachable };
}
