import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chQuery } from "../../support/pipeline.js";
import { ProcWatch } from "./procstat.js";
import type { ShoalCounters } from "./shoal.js";

const LOADGEN = fileURLToPath(new URL("./loadgen.ts", import.meta.url));

/** What one measured run offers. */
export interface RunSpec {
  readonly mqttUrl: string;
  readonly chUrl: string;
  /** Database the pipeline writes `readings` into. */
  readonly db: string;
  readonly rate: number;
  readonly seconds: number;
  readonly devices: number;
  /** Readings per MQTT message. */
  readonly batch: number;
  readonly prefix: string;
  /** Processes whose CPU and memory are sampled (role pids, services, the load generator is added). */
  readonly procs: ReadonlyMap<string, number>;
  /** Called at these seconds after the publishing started (fault injection). */
  readonly at?: ReadonlyArray<readonly [number, () => Promise<void>]>;
  /** Longest wait for the rows after publishing ended, ms. Default 120 s. */
  readonly drainMaxMs?: number;
  /** Counters of the Shoal processes (read before and after the run for the accounting), when reachable. */
  readonly counters?: () => Promise<ShoalCounters>;
}

/**
 * Where every acknowledged reading of a run went: published = stored + dead-lettered + counted
 * duplicates. Dead-lettered: the bridge's rejections during the run plus `dead_letters` rows of the
 * run's devices; duplicates: the device actors' duplicate counter during the run (from /metrics),
 * or, when the counters were not reachable, physical − distinct rows.
 */
export interface Accounting {
  readonly published: number;
  readonly stored: number;
  readonly bridgeRejected: number;
  readonly runtimeDeadLetters: number;
  /** The runtime's dead letters by code ("too_late 12, …"), empty when none. */
  readonly runtimeDeadLetterCodes: string;
  readonly deadLettered: number;
  readonly duplicates: number;
  readonly duplicatesFrom: "device counter" | "physical − distinct rows";
  readonly holds: boolean;
}

/** What one run measured. */
export interface RunResult {
  readonly sent: number;
  readonly acked: number;
  readonly unacked: number;
  readonly publishedPerSec: number;
  /** Rows that became visible during the publishing window, per second. */
  readonly rowsPerSec: number;
  /** Distinct (device, epoch, seq) stored / physical rows stored. */
  readonly stored: number;
  readonly physical: number;
  readonly lost: number;
  readonly duplicates: number;
  /**
   * Publish → row visible, ms, from the count timelines (up to one poll, 50 ms, of resolution): the
   * time until as many rows are visible as readings were published. That is about the mean latency
   * and how it moves, not a reading's latency: a few readings waiting seconds barely move it.
   */
  readonly p50: number;
  readonly p99: number;
  /**
   * Publish → row visible of each reading of the probe devices (every 50th device), ms: the first
   * poll that returned the row less the reading's tsMs (its publish time); NaN when the table has
   * no such rows (a peer's schema).
   */
  readonly readingP50: number;
  readonly readingP99: number;
  readonly readingMax: number;
  /** Probe readings seen, of those acknowledged. */
  readonly probed: number;
  /** From the end of publishing until every acknowledged reading was visible, ms (-1: never). */
  readonly drainMs: number;
  /** Rows visible per second of the run (publishing and drain), from the 50 ms polls of the row count. */
  readonly rowsTimeline: number[];
  /**
   * Rows inserted per second of the run by ClickHouse's own clock (`ingested_at`, the second each
   * insert ran): unlike the polls, not shifted by a poll that waits for a busy machine.
   */
  readonly insertedTimeline: number[];
  readonly loadgenDisconnects: number;
  readonly watch: ProcWatch;
  /** Sustained: nothing lost, rows ≥ 97 % of the offered rate during the run, p99 < 1 s. */
  readonly sustained: boolean;
  readonly accounting: Accounting;
}

/** Every PROBE_EVERY-th device of a run is a probe: each of its rows is timed (see RunResult.readingP50). */
const PROBE_EVERY = 50;
/** SHOAL_BENCH_PROBE=off: no per-reading probe (its queries' own cost on ClickHouse, measured apart). */
const PROBE_ON = process.env.SHOAL_BENCH_PROBE !== "off";

/**
 * Polls the probe devices' rows ingested in the last 5 s (ClickHouse's clock; the rows of 20 devices,
 * cheap next to the run) and keeps when each (device, seq) was first seen and its tsMs.
 */
class ReadingProbe {
  readonly seen = new Map<string, number>();
  private readonly where: string;

  constructor(
    private readonly spec: Pick<RunSpec, "chUrl" | "db" | "devices" | "prefix">,
  ) {
    const ids: string[] = [];
    for (let d = 0; d < spec.devices; d += PROBE_EVERY) ids.push(`'${spec.prefix}-${d}'`);
    this.where = `device_id IN (${ids.join(", ")})`;
  }

  async poll(): Promise<boolean> {
    const rows = await chQuery<{ d: string; s: string; t: string }>(this.spec.chUrl, this.spec.db, `SELECT device_id AS d, toString(seq) AS s, toString(ts_ms) AS t FROM readings WHERE ${this.where} AND ingested_at >= now() - 5`).catch(() => undefined);
    if (rows === undefined) return false;
    const at = Date.now();
    for (const r of rows) {
      const key = `${r.d}/${r.s}`;
      if (!this.seen.has(key)) this.seen.set(key, at - Number(r.t));
    }
    return true;
  }

  quantiles(): { p50: number; p99: number; max: number; n: number } {
    const lat = [...this.seen.values()].sort((a, b) => a - b);
    const q = (p: number) => (lat.length === 0 ? NaN : lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!);
    return { p50: q(0.5), p99: q(0.99), max: lat.length === 0 ? NaN : lat.at(-1)!, n: lat.length };
  }
}

/** Rows in the readings table (active parts, metadata only). */
async function visibleRows(chUrl: string, db: string): Promise<number> {
  const r = await chQuery<{ n: string }>(chUrl, "system", `SELECT sum(rows) AS n FROM system.parts WHERE database = '${db}' AND table = 'readings' AND active`).catch(() => [{ n: "-1" }]);
  return Number(r[0]?.n ?? 0);
}

/** The load generator (loadgen.ts) in its own process, its JSON lines on stdout. */
export function spawnLoadgen(o: Pick<RunSpec, "mqttUrl" | "devices" | "rate" | "seconds" | "batch" | "prefix">): ChildProcess {
  return spawn(
    process.execPath,
    ["--import", "tsx", LOADGEN, "--url", o.mqttUrl, "--devices", String(o.devices), "--rate", String(o.rate), "--seconds", String(o.seconds), "--batch", String(o.batch), "--prefix", o.prefix],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
}

/**
 * One measured run: the load generator in its own process, ClickHouse polled every 50 ms for the
 * visible row count, then the rows checked exactly (distinct (device, epoch, seq) of this run's devices)
 * and accounted for (see Accounting).
 */
export async function measure(spec: RunSpec): Promise<RunResult> {
  const baseline = Math.max(0, await visibleRows(spec.chUrl, spec.db));
  const countersBefore = await spec.counters?.().catch(() => undefined);
  const child = spawnLoadgen(spec);
  const watch = new ProcWatch(new Map([...spec.procs, ["loadgen", child.pid!]]));
  watch.start();
  const startedAt = Date.now();
  const visible: [number, number][] = [];
  let polling = true;
  const probe = new ReadingProbe(spec);
  const prober = (async () => {
    while (polling && PROBE_ON) {
      if (!(await probe.poll())) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const poller = (async () => {
    while (polling) {
      const n = await visibleRows(spec.chUrl, spec.db);
      if (n >= 0) visible.push([Date.now(), n - baseline]);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const faults = (spec.at ?? []).map(([sec, fn]) => new Promise<void>((r) => setTimeout(() => void fn().then(r, r), sec * 1000)));
  let done: { sent: number; acked: number; unacked: number; disconnects: number; elapsedMs: number } | undefined;
  let timeline: { bucketMs: number; startMs: number; published: number[] } | undefined;
  for await (const line of createInterface({ input: child.stdout! })) {
    const m = JSON.parse(line) as { t: string };
    if (m.t === "done") done = m as unknown as typeof done;
    if (m.t === "timeline") timeline = m as unknown as typeof timeline;
  }
  if (done === undefined || timeline === undefined) throw new Error("the load generator ended without its results");
  const publishEnd = timeline.startMs + spec.seconds * 1000;
  await Promise.all(faults);
  // Drain: until every acknowledged reading is visible, or nothing new for 15 s, or drainMaxMs.
  // The poll counts physical rows; a repair after a ClickHouse restart inserts copies of rows that
  // were there (ADR 0012), so once they are enough the distinct readings are counted too.
  const like = `WHERE startsWith(device_id, '${spec.prefix}-')`;
  const distinct = async () => Number((await chQuery<{ u: string }>(spec.chUrl, spec.db, `SELECT uniqExact(device_id, epoch, seq) AS u FROM readings ${like}`).catch(() => [{ u: "-1" }]))[0]?.u ?? -1);
  let drainMs = -1;
  const drainDeadline = Date.now() + (spec.drainMaxMs ?? 120_000);
  let lastChange = Date.now();
  let lastN = -1;
  while (Date.now() < drainDeadline) {
    const n = visible.at(-1)?.[1] ?? 0;
    const exact = n >= done.acked ? await distinct() : -1;
    if (exact >= done.acked) {
      const physicalAt = visible.find(([, c]) => c >= done!.acked)![0];
      drainMs = Math.max(0, (exact === n ? physicalAt : Date.now()) - publishEnd);
      break;
    }
    const progress = Math.max(n, exact);
    if (progress !== lastN) [lastN, lastChange] = [progress, Date.now()];
    else if (Date.now() - lastChange > 15_000) break;
    await new Promise((r) => setTimeout(r, n >= done.acked ? 500 : 100));
  }
  polling = false;
  await Promise.all([poller, prober]);
  watch.stop();
  const [c] = await chQuery<{ n: string; u: string }>(spec.chUrl, spec.db, `SELECT count() AS n, uniqExact(device_id, epoch, seq) AS u FROM readings ${like}`);
  const physical = Number(c!.n);
  const stored = Number(c!.u);
  const countersAfter = await spec.counters?.().catch(() => undefined);
  const dls = await chQuery<{ code: string; n: string }>(spec.chUrl, spec.db, `SELECT code, count() AS n FROM dead_letters WHERE startsWith(source, 'device/${spec.prefix}-') GROUP BY code ORDER BY code`).catch(() => []);
  const accounting = account(done.acked, stored, physical, dls, countersBefore, countersAfter);
  // Latency of every k-th reading: first poll that saw k rows − the 10 ms bucket it was published in.
  const lat: number[] = [];
  const step = Math.max(1, Math.floor(done.acked / 4000));
  let vi = 0;
  let pi = 0;
  for (let k = step; k <= Math.min(done.acked, visible.at(-1)?.[1] ?? 0); k += step) {
    while (pi < timeline.published.length && timeline.published[pi]! < k) pi++;
    while (vi < visible.length && visible[vi]![1] < k) vi++;
    if (pi >= timeline.published.length || vi >= visible.length) break;
    lat.push(visible[vi]![0] - (timeline.startMs + pi * timeline.bucketMs));
  }
  lat.sort((a, b) => a - b);
  const q = (p: number) => (lat.length === 0 ? NaN : lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!);
  const inWindow = visible.filter(([t]) => t <= publishEnd).at(-1)?.[1] ?? 0;
  const rowsTimeline: number[] = [];
  for (let s = 1; startedAt + s * 1000 <= (visible.at(-1)?.[0] ?? startedAt); s++) {
    const at = (t: number) => visible.filter(([x]) => x <= t).at(-1)?.[1] ?? 0;
    rowsTimeline.push(at(startedAt + s * 1000) - at(startedAt + (s - 1) * 1000));
  }
  const startS = Math.floor(startedAt / 1000);
  const bySecond = await chQuery<{ s: string; n: string }>(spec.chUrl, spec.db, `SELECT toUnixTimestamp(ingested_at) - ${startS} AS s, count() AS n FROM readings ${like} GROUP BY s ORDER BY s`);
  const insertedTimeline: number[] = [];
  for (const { s, n } of bySecond) if (Number(s) >= 0) insertedTimeline[Number(s)] = Number(n);
  for (let i = 0; i < insertedTimeline.length; i++) insertedTimeline[i] ??= 0;
  const rowsPerSec = inWindow / ((publishEnd - timeline.startMs) / 1000);
  const lost = Math.max(0, done.acked - stored);
  const p99 = q(0.99);
  const perReading = probe.quantiles();
  return {
    sent: done.sent,
    acked: done.acked,
    unacked: done.unacked,
    publishedPerSec: done.sent / (done.elapsedMs / 1000),
    rowsPerSec,
    stored,
    physical,
    lost,
    duplicates: physical - stored,
    p50: q(0.5),
    p99,
    readingP50: perReading.p50,
    readingP99: perReading.p99,
    readingMax: perReading.max,
    probed: perReading.n,
    drainMs,
    rowsTimeline,
    insertedTimeline,
    loadgenDisconnects: done.disconnects,
    watch,
    sustained: lost === 0 && rowsPerSec >= 0.97 * spec.rate && p99 < 1000,
    accounting,
  };
}

function account(published: number, stored: number, physical: number, deadLetters: readonly { code: string; n: string }[], before: ShoalCounters | undefined, after: ShoalCounters | undefined): Accounting {
  const runtimeDeadLetters = deadLetters.reduce((a, d) => a + Number(d.n), 0);
  // The device counters are there once a reading was applied; an event never counted has no series (0).
  const counted = before !== undefined && after !== undefined && before.reachable && after.reachable && after.device["applied"] !== undefined;
  const delta = (f: (c: ShoalCounters) => number) => (counted ? f(after!) - f(before!) : 0);
  const bridgeRejected = delta((c) => c.pipeline.get("bridge.rejected") ?? 0);
  const duplicates = counted ? delta((c) => c.device["duplicate"] ?? 0) : physical - stored;
  const deadLettered = bridgeRejected + runtimeDeadLetters;
  return {
    published,
    stored,
    bridgeRejected,
    runtimeDeadLetters,
    runtimeDeadLetterCodes: deadLetters.map((d) => `${d.code} ${d.n}`).join(", "),
    deadLettered,
    duplicates,
    duplicatesFrom: counted ? "device counter" : "physical − distinct rows",
    holds: published === stored + deadLettered + duplicates,
  };
}

/** One line: the accounting of a run. */
export function accountingLine(a: Accounting): string {
  const rhs = a.stored + a.deadLettered + a.duplicates;
  return (
    `published ${a.published} ${a.holds ? "=" : "≠"} stored ${a.stored} + dead-lettered ${a.deadLettered} (bridge ${a.bridgeRejected}, runtime ${a.runtimeDeadLetters}${a.runtimeDeadLetterCodes === "" ? "" : `: ${a.runtimeDeadLetterCodes}`}) + duplicates ${a.duplicates} (${a.duplicatesFrom}) = ${rhs}: ` +
    (a.holds ? "holds" : `does NOT hold (${a.published > rhs ? "unaccounted" : "over-counted"} ${Math.abs(a.published - rhs)})`)
  );
}

/** CPU µs per acknowledged reading: of the processes named, and of all sampled processes. */
export function cpuPerReading(r: RunResult, shoalRoles: readonly string[]): { shoal: number; all: number } {
  const per = (names: readonly string[]) => (names.reduce((a, n) => a + r.watch.cpuMs(n), 0) * 1000) / Math.max(1, r.acked);
  return { shoal: per(shoalRoles), all: per(r.watch.names) };
}
