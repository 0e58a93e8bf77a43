/**
 * What bench:fleet prints once publishing stopped and ClickHouse stopped growing: acknowledged vs
 * stored, the counters, the accounting equation, lifecycle events against the fleet's reboots and
 * flushes, and the latency of live readings with and without flushes running.
 */
import { chQuery } from "../../support/pipeline.js";
import type { ShoalCounters } from "../e2e/shoal.js";
import type { SimulateStats } from "../../../src/simulator/simulator.js";
import { quantile, type LatencySample } from "./latency.js";
import type { DeviceHistory, PublishedLog } from "./published.js";
import type { Reading } from "../../../src/ports/reading.js";

type Ch = <T>(q: string) => Promise<T[]>;

export function chOf(chUrl: string, db: string): Ch {
  return <T>(q: string) => chQuery<T>(chUrl, db, q);
}

const fmt = (n: number) => n.toLocaleString("en-US");

/** Rows of readings visible now (physical) and dead letters: what "ClickHouse grows" means here. */
export async function chSize(ch: Ch): Promise<string> {
  const [r] = await ch<{ r: string; d: string; e: string }>("SELECT toString((SELECT count() FROM readings)) AS r, toString((SELECT count() FROM dead_letters)) AS d, toString((SELECT count() FROM device_events)) AS e");
  return `${r!.r}/${r!.d}/${r!.e}`;
}

/** Wait until the table sizes stay the same for `quietMs` (at most `maxMs`); returns the ms waited. */
export async function waitUntilStill(ch: Ch, quietMs: number, maxMs: number): Promise<number> {
  const t0 = Date.now();
  let last = "";
  let since = Date.now();
  while (Date.now() - t0 < maxMs) {
    const now = await ch<never>("SELECT 1").then(() => chSize(ch)).catch(() => last);
    if (now !== last) [last, since] = [now, Date.now()];
    else if (Date.now() - since >= quietMs) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return Date.now() - t0;
}

export interface StoredCounts {
  physical: number;
  final: number;
  distinctKey: number;
  distinctDeviceTs: number;
  deadLetters: Map<string, number>;
  events: Map<string, number>;
}

export async function storedCounts(ch: Ch): Promise<StoredCounts> {
  const [c] = await ch<{ n: string; u: string; dt: string }>("SELECT toString(count()) AS n, toString(uniqExact(device_id, epoch, seq, ts_ms)) AS u, toString(uniqExact(device_id, ts_ms)) AS dt FROM readings");
  const [f] = await ch<{ n: string }>("SELECT toString(count()) AS n FROM readings FINAL");
  const dl = await ch<{ stage: string; code: string; n: string }>("SELECT stage, code, toString(count()) AS n FROM dead_letters GROUP BY stage, code ORDER BY stage, code");
  const ev = await ch<{ kind: string; n: string }>("SELECT kind, toString(count()) AS n FROM device_events GROUP BY kind ORDER BY kind");
  return {
    physical: Number(c!.n),
    final: Number(f!.n),
    distinctKey: Number(c!.u),
    distinctDeviceTs: Number(c!.dt),
    deadLetters: new Map(dl.map((r) => [`${r.stage}/${r.code}`, Number(r.n)])),
    events: new Map(ev.map((r) => [r.kind, Number(r.n)])),
  };
}

/** (device, ts) acknowledged but not stored, and stored but never acknowledged: at most `limit` of each. */
export async function deviceTsDiff(ch: Ch, published: PublishedLog, limit = 10): Promise<{ missing: string[]; extra: string[]; devicesDiffering: number; missingTotal: number; extraTotal: number }> {
  const per = await ch<{ d: string; n: string; s: string }>("SELECT device_id AS d, toString(count()) AS n, toString(sum(ts_ms)) AS s FROM (SELECT DISTINCT device_id, ts_ms FROM readings) GROUP BY device_id");
  const stored = new Map(per.map((r) => [r.d, { n: Number(r.n), s: BigInt(r.s) }]));
  const suspects = new Set<string>();
  for (const [id, d] of published.devices) {
    const ts = new Set(d.ts);
    let sum = 0n;
    for (const t of ts) sum += BigInt(t);
    const st = stored.get(id);
    if (st === undefined || st.n !== ts.size || st.s !== sum) suspects.add(id);
  }
  for (const id of stored.keys()) if (!published.devices.has(id)) suspects.add(id);
  const missing: string[] = [];
  const extra: string[] = [];
  let missingTotal = 0;
  let extraTotal = 0;
  for (const id of [...suspects].sort()) {
    const rows = await ch<{ t: string }>(`SELECT DISTINCT toString(ts_ms) AS t FROM readings WHERE device_id = '${id}'`);
    const got = new Set(rows.map((r) => Number(r.t)));
    const acked = new Set(published.devices.get(id)?.ts ?? []);
    for (const t of acked) {
      if (got.has(t)) continue;
      missingTotal++;
      if (missing.length < limit) missing.push(`${id} @ ${t} (${new Date(t).toISOString()})`);
    }
    for (const t of got) {
      if (acked.has(t)) continue;
      extraTotal++;
      if (extra.length < limit) extra.push(`${id} @ ${t} (${new Date(t).toISOString()})`);
    }
  }
  return { missing, extra, devicesDiffering: suspects.size, missingTotal, extraTotal };
}

export async function printCounts(
  published: PublishedLog,
  sim: SimulateStats,
  s: StoredCounts,
  diff: Awaited<ReturnType<typeof deviceTsDiff>>,
  journalOf: (ids: string[]) => Promise<Map<string, readonly Reading[]>>,
): Promise<void> {
  let ackedDistinct = 0;
  for (const id of published.devices.keys()) ackedDistinct += new Set(published.devices.get(id)!.ts).size;
  console.log("\n== acknowledged vs stored");
  console.table({
    "acknowledged readings (onPublished)": fmt(published.acked),
    "simulator sent / acked / failed": `${fmt(sim.sent)} / ${fmt(sim.acked)} / ${fmt(sim.failed)}`,
    "stored uniqExact(device_id, epoch, seq, ts_ms)": fmt(s.distinctKey),
    "stored physical count()": fmt(s.physical),
    "stored count() FINAL": fmt(s.final),
    "acknowledged distinct (device, ts)": fmt(ackedDistinct),
    "stored uniqExact(device_id, ts_ms)": fmt(s.distinctDeviceTs),
  });
  const same = diff.missingTotal === 0 && diff.extraTotal === 0;
  console.log(`stored = accepted per (device, timestamp): ${same ? "yes" : `NO — ${fmt(diff.missingTotal)} acknowledged (device, ts) not stored, ${fmt(diff.extraTotal)} stored never acknowledged, ${diff.devicesDiffering} device(s)`}`);
  if (diff.missing.length > 0) {
    console.log(`  missing (first ${diff.missing.length}), each with the device's acknowledged readings around it (seq/boot/ts/sent-ts ms, in time order), then the order its actor got them in (journal):`);
    const journal = await journalOf([...new Set(diff.missing.map((m) => m.split(" @ ")[0]!))]).catch(() => new Map<string, readonly Reading[]>());
    for (const m of diff.missing) {
      const [id, at] = m.split(" @ ") as [string, string];
      const h = published.history(id);
      const t = Number(at.split(" ")[0]);
      const k = h.order.findIndex((i) => h.log.ts[i] === t);
      const around = h.order.slice(Math.max(0, k - 2), k + 3).map((i) => `${h.log.ts[i] === t ? "*" : ""}${h.log.seq[i]}/${h.log.boot[i] === -1 ? "-" : h.log.boot[i]}/${h.log.ts[i]}/${h.log.sent[i]! - h.log.ts[i]!}`);
      console.log(`    ${m}  [${k} of ${h.order.length}]  ${around.join("  ")}`);
      const j = journal.get(id) ?? [];
      const lo = h.log.ts[h.order[Math.max(0, k - 2)]!]!;
      const hi = h.log.ts[h.order[Math.min(h.order.length - 1, k + 2)]!]!;
      const got = j.filter((r) => r.tsMs >= lo && r.tsMs <= hi).map((r) => `${r.tsMs === t ? "*" : ""}${r.seq}/${r.boot ?? "-"}/${r.tsMs}`);
      console.log(`      journal order: ${got.length > 0 ? got.join("  ") : "(not read)"}`);
    }
  }
  if (diff.extra.length > 0) console.log(`  extra (first ${diff.extra.length}):\n    ${diff.extra.join("\n    ")}`);
}

export function printCounters(c: ShoalCounters, s: StoredCounts): void {
  console.log("\n== counters");
  const p = (k: string) => c.pipeline.get(k) ?? 0;
  console.log(`bridge (/metrics, MQTT messages for received/rejected, readings for accepted/duplicate): received ${fmt(p("bridge.received"))}, accepted ${fmt(p("bridge.accepted"))}, duplicate ${fmt(p("bridge.duplicate"))}, rejected ${fmt(p("bridge.rejected"))}; order stage: waited ${fmt(p("bridge.reordered"))}, wait ran out ${fmt(p("bridge.reorderTimedOut"))}, came late ${fmt(p("bridge.reorderLate"))}` +
    `${Object.keys(c.rejectedByCode).length > 0 ? ` (${Object.entries(c.rejectedByCode).map(([k, v]) => `${k} ${v}`).join(", ")})` : ""}`);
  console.log("device actors (shoal_actor_events_total, summed over workers):");
  console.table(Object.fromEntries(Object.entries(c.device).map(([k, v]) => [k, v])));
  console.log("dead_letters rows (stage/code):", s.deadLetters.size === 0 ? "none" : "");
  if (s.deadLetters.size > 0) console.table(Object.fromEntries(s.deadLetters));
  console.log("device_events by kind:", s.events.size === 0 ? "none" : "");
  if (s.events.size > 0) console.table(Object.fromEntries(s.events));
}

/** published = stored + dead-lettered + counted duplicates. */
export function printEquation(published: number, c: ShoalCounters, s: StoredCounts): void {
  const bridgeRejected = c.pipeline.get("bridge.rejected") ?? 0;
  const runtimeDl = [...s.deadLetters].filter(([k]) => k.startsWith("runtime/")).reduce((a, [, n]) => a + n, 0);
  const dup = c.device["duplicate"] ?? 0;
  const rhs = s.distinctKey + bridgeRejected + runtimeDl + dup;
  console.log("\n== published = stored + dead-lettered + counted duplicates");
  console.log(
    `${fmt(published)} ${published === rhs ? "=" : "≠"} ${fmt(s.distinctKey)} stored + ${fmt(bridgeRejected + runtimeDl)} dead-lettered (bridge ${fmt(bridgeRejected)}, runtime ${fmt(runtimeDl)}) + ${fmt(dup)} duplicates = ${fmt(rhs)}` +
      (published === rhs ? "  holds" : `  does NOT hold: ${published > rhs ? "unaccounted" : "over-counted"} ${fmt(Math.abs(published - rhs))}`),
  );
  const applied = c.device["applied"] ?? 0;
  if (applied !== s.distinctKey) console.log(`  note: the actors counted ${fmt(applied)} applied, ClickHouse holds ${fmt(s.distinctKey)} distinct keys`);
}

/** Reboots visible in the data vs `restarted` events, per kind of device. */
export async function printRestarts(ch: Ch, histories: DeviceHistory[], sim: SimulateStats): Promise<void> {
  const ev = await ch<{ d: string; n: string }>("SELECT device_id AS d, toString(count()) AS n FROM device_events WHERE kind = 'restarted' GROUP BY device_id");
  const restarted = new Map(ev.map((r) => [r.d, Number(r.n)]));
  const groups = new Map<string, { devices: number; rebooting: number; reboots: number | undefined; events: number; mismatched: string[] }>();
  for (const h of histories) {
    const g = h.carriesBoot ? "boot number" : h.log.kind === "unbounded" ? "unbounded, no boot" : h.log.kind === "nc" ? "no counter, no boot" : `${h.log.kind} wrapping, no boot`;
    const e = groups.get(g) ?? { devices: 0, rebooting: 0, reboots: 0, events: 0, mismatched: [] };
    const n = restarted.get(h.log.id) ?? 0;
    e.devices++;
    e.events += n;
    if (h.reboots === undefined) e.reboots = undefined;
    else {
      if (e.reboots !== undefined) e.reboots += h.reboots;
      if (h.reboots > 0) e.rebooting++;
      if (h.reboots !== n) e.mismatched.push(`${h.log.id} ${h.reboots}→${n}`);
    }
    groups.set(g, e);
  }
  console.log(`\n== restarts: the simulator rebooted devices ${fmt(sim.reboots)} times; restarted events ${fmt([...restarted.values()].reduce((a, b) => a + b, 0))}`);
  console.table(
    Object.fromEntries(
      [...groups].map(([g, e]) => [
        g,
        { devices: e.devices, "devices rebooted": e.reboots === undefined ? "?" : e.rebooting, "reboots (from data)": e.reboots ?? "invisible", "restarted events": e.events, "devices differing": e.reboots === undefined ? "-" : e.mismatched.length },
      ]),
    ),
  );
  const mism = [...groups.values()].flatMap((e) => e.mismatched);
  if (mism.length > 0) console.log(`  devices whose restarted events differ from their reboots (reboots→events), first 10: ${mism.slice(0, 10).join(", ")}`);
}

/** Offline events inside a device's own flush (while it was sending its backlog), and during its offline period. */
export async function printOffline(ch: Ch, histories: DeviceHistory[], sim: SimulateStats): Promise<Set<number>> {
  const ev = await ch<{ d: string; at: string }>("SELECT device_id AS d, toString(at_ms) AS at FROM device_events WHERE kind = 'offline'");
  const byDevice = new Map<string, number[]>();
  for (const r of ev) byDevice.set(r.d, [...(byDevice.get(r.d) ?? []), Number(r.at)]);
  let flushes = 0;
  let flushedReadings = 0;
  let inFlush = 0;
  let inOfflinePeriod = 0;
  const examples: string[] = [];
  const flushSeconds = new Set<number>();
  for (const h of histories) {
    const at = byDevice.get(h.log.id) ?? [];
    let hitFlush = false;
    let hitPeriod = false;
    for (const f of h.flushes) {
      flushes++;
      flushedReadings += f.readings;
      // The seconds it was sent in, and the next one (its readings still in the pipeline).
      for (let s = Math.floor(f.firstSentMs / 1000); s <= Math.floor(f.lastSentMs / 1000) + 1; s++) flushSeconds.add(s);
      for (const t of at) {
        if (t >= f.firstSentMs && t <= f.lastSentMs) {
          hitFlush = true;
          if (examples.length < 5) examples.push(`${h.log.id} offline at ${t}, flush sent ${f.firstSentMs}..${f.lastSentMs}`);
        }
        if (t >= f.firstTsMs && t < f.firstSentMs) hitPeriod = true;
      }
    }
    if (hitFlush) inFlush++;
    if (hitPeriod) inOfflinePeriod++;
  }
  console.log(`\n== offline and flushes: the simulator had ${fmt(sim.offlinePeriods)} offline periods and flushed ${fmt(sim.flushed)} readings; from the acknowledgements: ${fmt(flushes)} flushes of ${fmt(flushedReadings)} readings (sent > 5 s after measured)`);
  console.log(`offline events: ${fmt(ev.length)} on ${byDevice.size} device(s); devices with an offline event inside their own flush (first..last sent): ${inFlush} (should be 0); inside their offline period (measured..flush began): ${inOfflinePeriod}`);
  if (examples.length > 0) console.log(`  e.g. ${examples.join("; ")}`);
  return flushSeconds;
}

export function printLatency(samples: readonly LatencySample[], flushSeconds: ReadonlySet<number>): void {
  const groups = { "first 10 s (warm-up: actors activated)": [] as number[], "seconds with flushes running": [] as number[], "seconds without flushes": [] as number[] };
  const startMs = Math.min(...samples.map((s) => s.sentAtMs));
  let unseen = 0;
  for (const s of samples) {
    if (s.latencyMs < 0) {
      unseen++;
      continue;
    }
    const g =
      s.sentAtMs - startMs < 10_000 ? "first 10 s (warm-up: actors activated)" : flushSeconds.has(Math.floor(s.sentAtMs / 1000)) ? "seconds with flushes running" : "seconds without flushes";
    groups[g].push(s.latencyMs);
  }
  console.log(`\n== a flushing device does not starve live ones: publish → row visible of live readings (sent < 1 s after measured), 1 in 100 sampled, ClickHouse polled every 100 ms; ${flushSeconds.size} second(s) had flushes running (sent then, or the second after)`);
  console.table(
    Object.fromEntries(
      Object.entries(groups).map(([k, v]) => {
        v.sort((a, b) => a - b);
        return [k, { samples: v.length, "p50 ms": quantile(v, 0.5), "p99 ms": quantile(v, 0.99), "max ms": v.at(-1) ?? NaN }];
      }),
    ),
  );
  if (unseen > 0) console.log(`  ${unseen} sampled reading(s) never became visible within 120 s`);
}
