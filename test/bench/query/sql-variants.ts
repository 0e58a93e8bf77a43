/**
 * The read model's statements (src/adapters/clickhouse/read-model.ts, not changed here) against
 * variants that answer the same question: each original is the statement the read model actually
 * sent for a fixed request (recorded by the proxy), each variant is derived from it by a textual
 * rewrite, and both are run directly with FORMAT JSON (ClickHouse's elapsed time, rows and bytes
 * read: 18.16 has no EXPLAIN). A variant whose result differs from the original is marked.
 */
import type { KeptDataset } from "./keep.js";
import { prefixOf } from "./cases.js";
import { deviceId } from "./dataset.js";
import type { QueryClient } from "./rpc.js";
import { sqlStats, type SqlRecorder } from "./sql-probe.js";
import { pageToken } from "../../../src/query/query-service.js";

const HOUR_S = 3600;

interface Probe {
  readonly call: string;
  readonly method: string;
  readonly request: unknown;
  /** Picks the statement of interest among those the call sent. */
  readonly statement: RegExp;
  /** Another statement of the call that the variants replace as well (its cost is added to the original's). */
  readonly also?: RegExp;
  readonly what: string;
  readonly variants: ReadonlyArray<{ readonly name: string; readonly rewrite: (sql: string) => string }>;
}

/** ListDevices' device_status statement with the page's ids chosen first, reading device_id only. */
const idsFirst = (sql: string) =>
  sql.replace(
    /FROM device_status WHERE ([\s\S]*?) GROUP BY device_id ORDER BY device_id LIMIT (\d+)/,
    (_, where: string, n: string) =>
      `FROM device_status WHERE ${where} AND device_id IN (SELECT device_id FROM device_status WHERE ${where} GROUP BY device_id ORDER BY device_id LIMIT ${n}) GROUP BY device_id ORDER BY device_id LIMIT ${n}`,
  );

/** The smallest string greater than every string starting with `prefix` (prefix ≠ "", ASCII). */
const successor = (prefix: string) => prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);

/** A prefix condition bounded above as well: `device_id < successor(prefix)`. */
const boundedPrefix = (sql: string) => sql.replace(/device_id >= '([A-Za-z0-9_-]+)' AND startsWith/, (_, p: string) => `device_id >= '${p}' AND device_id < '${successor(p)}' AND startsWith`);

/** countReadings on the hourly rollup (bounds widened to whole hours: an upper bound of the count). */
const countOnHours = (sql: string) =>
  sql
    .replace("FROM readings_1m", "FROM readings_1h")
    .replace(/bucket >= toDateTime\((\d+)\)/, (_, s: string) => `bucket >= toDateTime(${Math.floor(Number(s) / HOUR_S) * HOUR_S})`)
    .replace(/bucket < toDateTime\((\d+)\)/, (_, s: string) => `bucket < toDateTime(${Math.ceil(Number(s) / HOUR_S) * HOUR_S})`);

/**
 * The rollup series computed from the raw readings instead (deduplicated by key as rawSeries does,
 * then the same buckets): at a reading every few minutes the 1-minute rollup holds a row per
 * reading and metric, so it has nothing to save.
 */
const seriesFromRaw = (sql: string) => {
  const m = /intDiv\(toUInt32\(bucket\), (\d+)\)[\s\S]*?FROM readings_1m\s+WHERE device_id = ('(?:[^'\\]|\\.)*') AND metric = ('(?:[^'\\]|\\.)*')\s+AND bucket >= toDateTime\((\d+)\) AND bucket < toDateTime\((\d+)\)[\s\S]*LIMIT (\d+)/.exec(sql);
  if (!m) return sql;
  const [, b, dev, metric, from, to, limit] = m;
  return `SELECT intDiv(toUInt32(t), ${b}) * ${b} AS b, count() AS n, min(v) AS mn, max(v) AS mx, sum(v) AS s, sum(v * v) AS sq, max(sc) AS ms
    FROM (SELECT any(ts) AS t, any(metric_values[indexOf(metric_names, ${metric})]) AS v, any(metric_scores[indexOf(metric_names, ${metric})]) AS sc FROM readings
      WHERE device_id = ${dev} AND ts >= toDateTime(${from}) AND ts < toDateTime(${to}) AND has(metric_names, ${metric}) GROUP BY epoch, seq, ts_ms)
    GROUP BY b HAVING n > 0 ORDER BY b LIMIT ${limit}`;
};

/** The same series from readings_1h in whole hours (fewer points than max_points allows: the result differs). */
const seriesOnHours = (sql: string) =>
  sql
    .replace("FROM readings_1m", "FROM readings_1h")
    .replace(/intDiv\(toUInt32\(bucket\), \d+\) \* \d+/, "intDiv(toUInt32(bucket), 3600) * 3600")
    .replace(/bucket >= toDateTime\((\d+)\)/, (_, s: string) => `bucket >= toDateTime(${Math.floor(Number(s) / HOUR_S) * HOUR_S})`);

/** deviceMetrics in one statement: the last hour's start from device_status as a scalar subquery, not a round trip first. */
const metricsOneStatement = (sql: string) => {
  const id = /WHERE device_id = ('(?:[^'\\]|\\.)*')/.exec(sql)?.[1];
  if (!id) return sql;
  return sql
    .replace(/WHERE device_id = ('(?:[^'\\]|\\.)*') AND ts >= toDateTime\(\d+\) AND ts_ms > \d+/, `WHERE device_id = ${id} AND ts >= toDateTime(intDiv(since_ms, 1000)) AND ts_ms > since_ms`)
    .replace(/SELECT ts_ms, any\(metric_names\)/, `WITH (SELECT maxMerge(last_seen_ms) - 3600000 FROM device_status WHERE device_id = ${id}) AS since_ms SELECT ts_ms, any(metric_names)`);
};

function probes(d: KeptDataset): Probe[] {
  const dev = deviceId(Math.floor(d.devices / 3));
  const month = { fromMs: BigInt(d.endMs - Math.min(30, d.days) * 86_400_000), toMs: BigInt(d.endMs) };
  const hourFrom = d.startMs + Math.floor((d.endMs - d.startMs) / 2 / 3_600_000) * 3_600_000;
  return [
    {
      call: "ListDevices first page of 100",
      method: "ListDevices",
      request: { pageSize: 100 },
      statement: /FROM device_status WHERE 1 = 1/,
      what: "device_status page",
      variants: [{ name: "page's ids first (IN subquery reading device_id only)", rewrite: idsFirst }],
    },
    {
      call: "ListDevices id prefix, page of 100",
      method: "ListDevices",
      request: { idPrefix: prefixOf(d, 1, 1), pageSize: 100 },
      statement: /FROM device_status WHERE .*startsWith/,
      what: "device_status page",
      variants: [
        { name: "prefix bounded above (device_id < successor)", rewrite: boundedPrefix },
        { name: "bounded above + page's ids first", rewrite: (s) => idsFirst(boundedPrefix(s)) },
      ],
    },
    {
      call: "ListDevices later page of 100",
      method: "ListDevices",
      request: { pageSize: 100, pageToken: pageToken(deviceId(Math.floor(d.devices / 2))) },
      statement: /FROM device_status WHERE 1 = 1 AND device_id >/,
      what: "device_status page",
      variants: [{ name: "page's ids first", rewrite: idsFirst }],
    },
    {
      call: "ListDevices first page of 100",
      method: "ListDevices",
      request: { pageSize: 100 },
      statement: /FROM analyses/,
      what: "anomaly counts of the page",
      variants: [],
    },
    {
      call: "ListReadings 30 days, max_points 1000",
      method: "ListReadings",
      request: { deviceId: dev, metric: "temp", ...month, maxPoints: 1000 },
      statement: /sumMerge\(samples\) AS n FROM readings_1m/,
      what: "countReadings (choose the tier)",
      variants: [{ name: "count on readings_1h (whole hours: upper bound)", rewrite: countOnHours }],
    },
    {
      call: "ListReadings 30 days, max_points 1000",
      method: "ListReadings",
      request: { deviceId: dev, metric: "temp", ...month, maxPoints: 1000 },
      statement: /intDiv\(toUInt32\(bucket\)|FROM readings\s+WHERE/,
      what: "series (the points)",
      variants: [
        { name: "the same buckets from raw readings (deduplicated)", rewrite: seriesFromRaw },
        { name: "readings_1h in 1 h buckets (fewer points: 720 for 30 days)", rewrite: seriesOnHours },
      ],
    },
    {
      call: "ListReadings raw, 1 hour",
      method: "ListReadings",
      request: { deviceId: dev, metric: "temp", fromMs: BigInt(hourFrom), toMs: BigInt(hourFrom + 3_600_000), maxPoints: 1000 },
      statement: /FROM readings\s+WHERE/,
      what: "series (raw, deduplicated)",
      variants: [],
    },
    {
      call: "GetDevice",
      method: "GetDevice",
      request: { deviceId: dev },
      statement: /ARRAY JOIN names AS metric/,
      also: /^SELECT maxMerge\(last_seen_ms\) AS last FROM device_status/,
      what: "deviceMetrics (last hour): 2 statements",
      variants: [{ name: "one statement (the hour's start as a scalar subquery)", rewrite: metricsOneStatement }],
    },
    {
      call: "ListAnalyses 1 device, 30 days",
      method: "ListAnalyses",
      request: { deviceId: dev, ...month },
      statement: /FROM analyses WHERE device_id =/,
      what: "analyses",
      variants: [],
    },
  ];
}

/** "2.1× faster" or "1.3× slower". */
const ratio = (base: number, v: number) => (v <= base ? `${(base / Math.max(0.001, v)).toFixed(1)}× faster` : `${(v / Math.max(0.001, base)).toFixed(1)}× slower`);

const stripFormat = (sql: string) => sql.replace(/\s+FORMAT\s+\w+\s*$/, "");

export async function variantRows(chUrl: string, db: string, d: KeptDataset, rec: SqlRecorder, client: QueryClient, runs: number, chPid?: number): Promise<Record<string, string | number>[]> {
  const out: Record<string, string | number>[] = [];
  for (const p of probes(d)) {
    const from = rec.log.length;
    await client.call(p.method, p.request);
    const sent = rec.since(from);
    const original = sent.find((r) => p.statement.test(r.sql));
    const also = p.also ? sent.find((r) => p.also!.test(r.sql)) : undefined;
    if (!original) {
      out.push({ call: p.call, statement: p.what, variant: "(statement not found)" });
      continue;
    }
    const sql = stripFormat(original.sql);
    let base = await sqlStats(chUrl, db, sql, runs, chPid);
    if (also) {
      const a = await sqlStats(chUrl, db, stripFormat(also.sql), runs, chPid);
      base = { p50Ms: base.p50Ms + a.p50Ms, maxMs: base.maxMs + a.maxMs, wallMs: base.wallMs + a.wallMs, rowsRead: base.rowsRead + a.rowsRead, bytesRead: base.bytesRead + a.bytesRead, resultRows: base.resultRows, cpuMs: base.cpuMs + a.cpuMs };
    }
    const row = (variant: string, s: typeof base, same: string) => ({
      call: variant === "read model" ? p.call : "",
      statement: variant === "read model" ? p.what : "",
      variant,
      "CH p50 ms": Number(s.p50Ms.toFixed(2)),
      "CH max ms": Number(s.maxMs.toFixed(2)),
      "CH CPU ms": Number.isNaN(s.cpuMs) ? "-" : Number(s.cpuMs.toFixed(1)),
      "round trip p50 ms": Number(s.wallMs.toFixed(2)),
      "rows read": s.rowsRead,
      "MB read": Number((s.bytesRead / 1e6).toFixed(2)),
      "result rows": s.resultRows,
      "vs read model (CH / round trip)": variant === "read model" ? "-" : `${ratio(base.p50Ms, s.p50Ms)} / ${ratio(base.wallMs, s.wallMs)}${same}`,
    });
    out.push(row("read model", base, ""));
    for (const v of p.variants) {
      const vsql = v.rewrite(sql);
      if (vsql === sql) {
        out.push({ call: "", statement: "", variant: `${v.name}: not applicable (the call sent another statement)` });
        continue;
      }
      try {
        const s = await sqlStats(chUrl, db, vsql, runs, chPid);
        const same = (await sameResult(chUrl, db, sql, vsql)) ? "" : " (result differs)";
        out.push(row(v.name, s, same));
      } catch (e) {
        out.push({ call: "", statement: "", variant: `${v.name}: ${(e as Error).message.slice(0, 160)}` });
      }
    }
  }
  return out;
}

/** Same rows, numbers equal to a relative 1e-9 (sums in another order). */
async function sameResult(chUrl: string, db: string, a: string, b: string): Promise<boolean> {
  const get = async (sql: string) => (await (await fetch(`${chUrl}/?database=${db}`, { method: "POST", body: `${sql} FORMAT TSV` })).text()).trim().split("\n").map((l) => l.split("\t"));
  const [x, y] = [await get(a), await get(b)];
  const close = (p: string, q: string) => p === q || (Number.isFinite(Number(p)) && Math.abs(Number(p) - Number(q)) <= 1e-9 * Math.max(1, Math.abs(Number(p))));
  return x.length === y.length && x.every((row, i) => row.length === y[i]!.length && row.every((v, j) => close(v, y[i]![j]!)));
}
