/**
 * Section 1 of bench:query: the dataset into a migrated database as large RowBinary inserts
 * (insertEncoded, as the sink sends them: into readings, then the same bytes into readings_feed)
 * while the next batch is generated; readings_feed's materialized views fill readings_1m,
 * readings_1h and device_status during the inserts. Also the cost of those views alone: the same
 * pre-generated rows inserted into scratch databases with none, all, or one of the views (`viewsCost`).
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { createClickHouseClient, migrate } from "../../../src/adapters/clickhouse/index.js";
import { insertEncoded } from "../../../src/adapters/clickhouse/encoded-rows.js";
import { ANALYSES_SCHEMA, DEVICE_EVENTS_SCHEMA, READINGS_FEED_TABLE, READINGS_SCHEMA, READINGS_TABLE } from "../../../src/domain/tables.js";
import { procSample } from "../e2e/procstat.js";
import { Dataset, type DatasetSpec } from "./dataset.js";

export const chOptions = (url: string, database: string) => ({ url, database, username: "default", password: "", requestTimeoutMs: 3_600_000 });
const cols = (s: typeof READINGS_SCHEMA) => s.columns.map((c) => c.name);
const pause = () => new Promise<void>((r) => setImmediate(r));
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
/** Readings as the sink writes them: the rows, then the same bytes to the views' feed (`feed: false`: the rows only). */
async function insertReadings(c: ClickHouseClient, chunks: readonly Uint8Array[], feed = true): Promise<void> {
  await insertEncoded(c, READINGS_TABLE, "RowBinary", cols(READINGS_SCHEMA), chunks);
  if (feed) await insertEncoded(c, READINGS_FEED_TABLE, "RowBinary", cols(READINGS_SCHEMA), chunks);
}

export async function chRows<T>(c: ClickHouseClient, query: string): Promise<T[]> {
  return (await (await c.query({ query, format: "JSONEachRow" })).json()) as T[];
}

export interface LoadResult {
  readonly rows: number;
  readonly analyses: number;
  readonly seconds: number;
  /** ms the generator ran (this process) / ms spent waiting for ClickHouse to take a batch. */
  readonly genMs: number;
  readonly waitMs: number;
  /** CPU seconds ClickHouse and this process used during the load. */
  readonly chCpuS: number;
  readonly nodeCpuS: number;
  readonly startMs: number;
  readonly stepMs: number;
}

/** Migrate `database` and load the dataset; progress on stderr. */
export async function load(url: string, database: string, spec: DatasetSpec, batchRows: number, chPid: number | undefined): Promise<LoadResult> {
  await migrate(chOptions(url, database));
  const c = createClickHouseClient(chOptions(url, database));
  const ds = new Dataset(spec);
  try {
    const events = ds.onlineEvents();
    await insertEncoded(c, "device_events", "RowBinary", cols(DEVICE_EVENTS_SCHEMA), events.chunks);
    const slice = ds.sliceOf(batchRows);
    const ch0 = chPid ? procSample(chPid)?.cpuMs ?? 0 : 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let genMs = 0;
    let waitMs = 0;
    let rows = 0;
    let analyses = 0;
    let inflight: Promise<void> = Promise.resolve();
    for (let k = 0; k < spec.perDevice; k += slice) {
      const batch = await ds.readings(k, k + slice, 20_000, pause);
      genMs += batch.genMs;
      const w = performance.now();
      await inflight;
      waitMs += performance.now() - w;
      inflight = insertReadings(c, batch.chunks);
      rows += batch.rows;
      const a = ds.takeAnalyses();
      if (a.rows > 0) {
        await insertEncoded(c, "analyses", "RowBinary", cols(ANALYSES_SCHEMA), a.chunks);
        analyses += a.rows;
      }
      const s = (performance.now() - t0) / 1000;
      process.stderr.write(`\r  loaded ${fmt(rows)} / ${fmt(ds.totalRows)} readings, ${s.toFixed(0)} s, ${fmt(rows / s)} rows/s   `);
    }
    const w = performance.now();
    await inflight;
    waitMs += performance.now() - w;
    const seconds = (performance.now() - t0) / 1000;
    process.stderr.write("\n");
    const cpu = process.cpuUsage(cpu0);
    const ch1 = chPid ? procSample(chPid)?.cpuMs ?? 0 : 0;
    return { rows, analyses, seconds, genMs, waitMs, chCpuS: (ch1 - ch0) / 1000, nodeCpuS: (cpu.user + cpu.system) / 1e6, startMs: ds.startMs, stepMs: ds.stepMs };
  } finally {
    await c.close();
  }
}

/** Wait until no merge runs in `database` (at most `maxMs`); returns ms waited. */
export async function waitForMerges(url: string, database: string, maxMs: number): Promise<number> {
  const c = createClickHouseClient(chOptions(url, database));
  const t0 = Date.now();
  try {
    while (Date.now() - t0 < maxMs) {
      const [m] = await chRows<{ n: string }>(c, `SELECT count() AS n FROM system.merges WHERE database = '${database}'`);
      if (Number(m?.n ?? 0) === 0) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    return Date.now() - t0;
  } finally {
    await c.close();
  }
}

/** Rows, active parts and bytes on disk of every table of `database` (system.parts). */
export async function tableSizes(url: string, database: string): Promise<Record<string, string | number>[]> {
  const c = createClickHouseClient(chOptions(url, database));
  try {
    const got = await chRows<{ table: string; rows: string; parts: string; disk: string; raw: string }>(
      c,
      `SELECT table, sum(rows) AS rows, count() AS parts, sum(bytes_on_disk) AS disk, sum(data_uncompressed_bytes) AS raw
       FROM system.parts WHERE database = '${database}' AND active GROUP BY table ORDER BY sum(bytes_on_disk) DESC`,
    );
    return got.map((r) => ({
      table: r.table,
      rows: fmt(Number(r.rows)),
      "active parts": Number(r.parts),
      "MB on disk": Number((Number(r.disk) / 1e6).toFixed(1)),
      "MB uncompressed": Number((Number(r.raw) / 1e6).toFixed(1)),
      "bytes/row on disk": Number(r.rows) > 0 ? Number((Number(r.disk) / Number(r.rows)).toFixed(1)) : 0,
    }));
  } finally {
    await c.close();
  }
}

const VIEWS = ["readings_feed_1m_mv", "readings_feed_1h_mv", "device_status_feed_mv"] as const;

/**
 * Insert rate of the same pre-generated readings (the first `rows` of the dataset `spec`, at its
 * density, in inserts of `batchRows`) into scratch databases: into readings alone (no views), and
 * into readings then readings_feed with every view and with one view each (the others dropped).
 * Generation is not timed: ClickHouse's cost only. The scratch databases are dropped.
 */
export async function viewsCost(url: string, spec: DatasetSpec, rows: number, batchRows: number, chPid: number | undefined): Promise<Record<string, string | number>[]> {
  const ds = new Dataset(spec);
  const slice = ds.sliceOf(batchRows);
  const batches: Uint8Array[][] = [];
  let total = 0;
  for (let k = 0; k < spec.perDevice && total < rows; k += slice) {
    const b = await ds.readings(k, k + slice, 20_000, async () => {});
    batches.push(b.chunks);
    total += b.rows;
  }
  const variants: { name: string; keep: readonly string[] }[] = [
    { name: "no views (readings alone)", keep: [] },
    { name: "all three views (as migrated)", keep: VIEWS },
    ...VIEWS.map((v) => ({ name: `only ${v}`, keep: [v] })),
  ];
  const out: Record<string, string | number>[] = [];
  let base = 0;
  for (const [i, v] of variants.entries()) {
    const db = `bench_query_scratch_${i}`;
    await migrate(chOptions(url, db));
    const c = createClickHouseClient(chOptions(url, db));
    try {
      for (const view of VIEWS) if (!v.keep.includes(view)) await c.command({ query: `DROP TABLE IF EXISTS ${view}` });
      const ch0 = chPid ? procSample(chPid)?.cpuMs ?? 0 : 0;
      const t0 = performance.now();
      for (const chunks of batches) await insertReadings(c, chunks, v.keep.length > 0);
      const s = (performance.now() - t0) / 1000;
      const chCpu = ((chPid ? procSample(chPid)?.cpuMs ?? 0 : 0) - ch0) / 1000;
      if (i === 0) base = s;
      out.push({
        variant: v.name,
        rows: fmt(total),
        "insert s": Number(s.toFixed(1)),
        "rows/s": fmt(total / s),
        "µs/row": Number(((s * 1e6) / total).toFixed(2)),
        "ClickHouse CPU µs/row": Number(((chCpu * 1e6) / total).toFixed(2)),
        "× no views": Number((s / base).toFixed(2)),
      });
      console.error(`  views cost: ${JSON.stringify(out.at(-1))}`);
    } finally {
      await c.command({ query: `DROP DATABASE IF EXISTS ${db}` }).catch(() => {});
      await c.close();
    }
  }
  return out;
}
