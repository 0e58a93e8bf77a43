import { randomBytes } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import type { LoggedRows } from "../../ports/row-log.js";
import type { RowSchema } from "../../ports/row-sink.js";
import { readRows } from "../../domain/row-binary-read.js";
import { READINGS_1H_TABLE, READINGS_1M_TABLE, READINGS_SCHEMA, READINGS_TABLE } from "../../domain/tables.js";
import { sqlRunner, sqlString, type SqlRunner } from "./sql.js";
import { sleep } from "../../base/clock.js";

/**
 * The rollups of `readings` (readings_1m, readings_1h, device_status: migrations 10 and 11) and the
 * reconciler that keeps them equal to the deduplicated readings (docs/adr/0013-rollups-and-retention.md).
 * The views aggregate every copy of the readings the sink feeds them (readings_feed, migration 18),
 * so a row inserted twice (a replayed batch, a retried insert) is counted twice, and a row whose copy
 * never reached the feed (its process died first, the feed's insert failed, a repair from the row
 * log, which inserts into readings only) not at all, until the reconciler inserts the difference.
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** Relative tolerance of the float comparisons (sums of the same values in another order). */
const TOLERANCE = 1e-9;
/** Temporary tables older than this are leftovers of a process that died, dropped by the next run. */
const LEFTOVER_S = 3600;

/**
 * The readings of `where` (a WHERE clause) stored more than once (same key: device_id, epoch, seq,
 * ts_ms; merges have not yet replaced them): one row per key with `extra` = copies - 1 and the
 * values of one copy. Candidates are found by a hash of the key (cheap to group), then checked on
 * the key itself. Usually empty.
 */
function duplicates(where: string): string {
  const key = "cityHash64(device_id, epoch, seq, ts_ms)";
  return `SELECT device_id, ts_ms, toInt64(count() - 1) AS extra, any(metric_names) AS names, any(metric_values) AS vals
    FROM ${READINGS_TABLE} ${where} AND ${key} IN (SELECT k FROM (SELECT ${key} AS k, count() AS c FROM ${READINGS_TABLE} ${where} GROUP BY k HAVING c > 1))
    GROUP BY device_id, epoch, seq, ts_ms HAVING extra > 0`;
}

/**
 * Per (device_id, metric, bucket of `seconds`) of the readings of `where`, what the deduplicated
 * readings give: n (count), s (sum), ss (sum of squares) — every stored row, less the extra copies
 * of duplicated ones —, vmin, vmax, vscore (max score; copies are identical: unchanged by them) and
 * last_in (newest ingest time). Aggregating the stored rows and subtracting the few duplicates is
 * several times faster on 18.16 than grouping every reading by its key first (docs/adr/0013).
 */
function readingAggregates(seconds: number, where: string): string {
  const bucket = `toDateTime(intDiv(ts_ms, ${seconds * 1000}) * ${seconds})`;
  return `SELECT device_id, metric, bucket, sum(n) AS n, sum(s) AS s, sum(ss) AS ss, min(vmin) AS vmin, max(vmax) AS vmax, max(vscore) AS vscore, max(last_in) AS last_in
    FROM (
      SELECT device_id, metric_names[i] AS metric, ${bucket} AS bucket, toInt64(count()) AS n, sum(metric_values[i]) AS s,
        sum(metric_values[i] * metric_values[i]) AS ss, min(metric_values[i]) AS vmin, max(metric_values[i]) AS vmax, max(metric_scores[i]) AS vscore,
        max(ingested_at) AS last_in
      FROM ${READINGS_TABLE} ARRAY JOIN arrayEnumerate(metric_names) AS i ${where}
      GROUP BY device_id, metric, bucket
      UNION ALL
      SELECT device_id, names[i] AS metric, ${bucket} AS bucket, -sum(extra) AS n, -sum(extra * vals[i]) AS s, -sum(extra * vals[i] * vals[i]) AS ss,
        inf, -inf, -inf, toDateTime(0)
      FROM (${duplicates(where)}) ARRAY JOIN arrayEnumerate(names) AS i
      GROUP BY device_id, metric, bucket
    )
    GROUP BY device_id, metric, bucket`;
}

/** Rows of a rollup table of `seconds` buckets from the deduplicated readings of `where`. */
function rollupStates(seconds: number, where: string): string {
  return `SELECT device_id, metric, bucket, sumState(n), minState(vmin), maxState(vmax), sumState(s), sumState(ss), maxState(vscore)
    FROM (${readingAggregates(seconds, where)}) GROUP BY device_id, metric, bucket`;
}

const ROLLUP_COLUMNS = "device_id, metric, bucket, samples, min_value, max_value, sum_value, sum_squares, max_score";

/**
 * Backfill of migration 10: the rollups of every reading already stored (a view only sees inserts
 * made after it exists). Computed into a copy of each rollup table, then swapped in partition by
 * partition (`REPLACE PARTITION … FROM`), so it is safe to run again and by several processes at
 * once: each replaces a partition with the same content, and rows the views added meanwhile are in
 * it (they are in `readings`). Rows inserted between the copy and the swap are left to the reconciler.
 */
export async function backfillRollups(db: SqlRunner): Promise<void> {
  if (!(await hasReadings(db))) return;
  await replaceFrom(db, READINGS_1M_TABLE, `INSERT INTO {copy} (${ROLLUP_COLUMNS}) ${rollupStates(60, "WHERE 1")}`);
  await replaceFrom(db, READINGS_1H_TABLE, `INSERT INTO {copy} (${ROLLUP_COLUMNS}) ${rollupStates(3600, "WHERE 1")}`);
}

/** Backfill of migration 11: device_status from the deduplicated readings and every device event. */
export async function backfillDeviceStatus(db: SqlRunner): Promise<void> {
  const events = Number((await db.query<{ n: string }>("SELECT count() AS n FROM device_events"))[0]?.n ?? 0) > 0;
  if (!events && !(await hasReadings(db))) return;
  const cols = "device_id, first_seen_ms, last_seen_ms, readings, last_epoch, last_seq, last_event_kind, last_event_at_ms";
  await replaceFrom(
    db,
    "device_status",
    `INSERT INTO {copy} (${cols}) SELECT device_id, minState(ts_ms), maxState(ts_ms), sumState(toInt64(1)), argMaxState(epoch, ts_ms), argMaxState(seq, ts_ms),
        argMaxStateIf('', ts_ms, 0), maxStateIf(ts_ms, 0)
      FROM ${READINGS_TABLE} GROUP BY device_id`,
    // The extra copies of duplicated readings, subtracted from the count.
    `INSERT INTO {copy} (${cols}) SELECT device_id, minStateIf(ts_ms, 0), maxStateIf(ts_ms, 0), sumState(-extra), argMaxStateIf(toUInt64(0), ts_ms, 0),
        argMaxStateIf(toUInt64(0), ts_ms, 0), argMaxStateIf('', ts_ms, 0), maxStateIf(ts_ms, 0)
      FROM (${duplicates("WHERE 1")}) GROUP BY device_id`,
    `INSERT INTO {copy} (${cols}) SELECT device_id, minStateIf(at_ms, 0), maxStateIf(at_ms, 0), sumStateIf(toInt64(0), 0), argMaxStateIf(epoch, at_ms, 0),
        argMaxStateIf(last_seq, at_ms, 0), argMaxState(kind, at_ms), maxState(at_ms)
      FROM device_events GROUP BY device_id`,
  );
}

async function hasReadings(db: SqlRunner): Promise<boolean> {
  return Number((await db.query<{ n: string }>(`SELECT count() AS n FROM ${READINGS_TABLE}`))[0]?.n ?? 0) > 0;
}

/** Fill a copy of `table` with `inserts` ({copy} is its name), then replace each of its partitions in `table`. */
async function replaceFrom(db: SqlRunner, table: string, ...inserts: string[]): Promise<void> {
  const copy = `${table}_backfill_${tempTag()}`;
  await db.exec(`CREATE TABLE ${copy} AS ${table}`);
  try {
    for (const i of inserts) await db.exec(i.replace("{copy}", copy));
    const parts = await db.query<{ p: string }>(`SELECT DISTINCT partition_id AS p FROM system.parts WHERE database = currentDatabase() AND table = ${sqlString(copy)} AND active`);
    for (const { p } of parts) await db.exec(`ALTER TABLE ${table} REPLACE PARTITION ID ${sqlString(p)} FROM ${copy}`);
  } finally {
    await db.exec(`DROP TABLE IF EXISTS ${copy}`);
  }
}

/** Options of {@link reconcileRollups}. */
export interface ReconcileOptions {
  /**
   * Buckets ending less than this before now, or whose readings ClickHouse took less than this ago,
   * are left for a later run (their inserts may still be reaching the views), ms. Default 10 s.
   */
  readonly settleMs?: number;
  /** Nothing older than this is reconciled (the readings' retention cutoff: older readings may be gone), ms. */
  readonly notBeforeMs?: number;
  /** Passes at most: after a correction the range is compared again (another process may have corrected it too). Default 3. */
  readonly maxPasses?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Make the rollups of [fromMs, toMs) equal to the deduplicated readings (whole minutes; the newest
 * `settleMs` skipped): for each (device, metric, minute) whose rollup count, sum or sum of squares
 * differs from those of the readings, insert the difference into readings_1m, and the differences
 * of each hour's minutes into readings_1h (the hour is the sum of its minutes: both views see the
 * same inserts), with the readings' min, max and max score (idempotent). Buckets without readings
 * are left alone (the rollup may be the only record left of them). Returns the buckets corrected.
 */
export async function reconcileRollups(client: ClickHouseClient | SqlRunner, fromMs: number, toMs: number, o: ReconcileOptions = {}): Promise<number> {
  const db = "command" in client ? sqlRunner(client) : client;
  const now = o.now ?? Date.now;
  const settleMs = o.settleMs ?? 10_000;
  const from = Math.ceil(Math.max(fromMs, o.notBeforeMs ?? -Infinity) / MINUTE_MS) * MINUTE_MS;
  const to = Math.floor(Math.min(toMs, now() - settleMs) / MINUTE_MS) * MINUTE_MS;
  if (!(to > from)) return 0;
  await dropLeftovers(db, now());
  let corrected = 0;
  for (let pass = 0; pass < (o.maxPasses ?? 3); pass++) {
    // Another process correcting the same buckets at the same moment doubles the correction; the
    // next pass sees it and undoes it. A random pause keeps two such passes from meeting again.
    if (pass > 0) await (o.sleep ?? ((ms: number) => sleep(ms)))(200 + Math.floor(Math.random() * 800));
    const n = await reconcilePass(db, from, to, Math.ceil(settleMs / 1000));
    corrected += n;
    if (n === 0) break;
  }
  return corrected;
}

/** One comparison and correction of [from, to); returns the buckets corrected. */
async function reconcilePass(db: SqlRunner, from: number, to: number, settleS: number): Promise<number> {
  const tag = tempTag();
  const snap = `rollup_snap_${tag}`;
  const fix = `rollup_fix_${tag}`;
  const fromS = from / 1000;
  const toS = to / 1000;
  try {
    // The rollup is read before the readings: an insert landing in between is then in the readings'
    // side only, where its fresh ingest time holds its bucket back (views are written after the table).
    await db.exec(`CREATE TABLE ${snap} ENGINE = Memory AS
      SELECT device_id, metric, bucket, sumMerge(samples) AS n, sumMerge(sum_value) AS s, sumMerge(sum_squares) AS ss
      FROM ${READINGS_1M_TABLE} WHERE bucket >= toDateTime(${fromS}) AND bucket < toDateTime(${toS}) GROUP BY device_id, metric, bucket`);
    const where = `WHERE ts >= toDateTime(${fromS}) AND ts < toDateTime(${toS}) AND ts_ms >= ${from} AND ts_ms < ${to}`;
    await db.exec(`CREATE TABLE ${fix} ENGINE = Memory AS
      SELECT device_id, metric, bucket, toInt64(sum(rn) - sum(un)) AS dn, sum(rs) - sum(us) AS ds, sum(rss) - sum(uss) AS dss,
        min(rmin) AS vmin, max(rmax) AS vmax, max(rscore) AS vscore, max(last_in) AS settled_in, sum(rn) AS raw_n,
        abs(sum(rss)) + abs(sum(uss)) AS mag
      FROM (
        SELECT device_id, metric, bucket, n AS rn, s AS rs, ss AS rss, vmin AS rmin, vmax AS rmax, vscore AS rscore, last_in,
          toInt64(0) AS un, toFloat64(0) AS us, toFloat64(0) AS uss
        FROM (${readingAggregates(60, where)})
        UNION ALL
        SELECT device_id, metric, bucket, toInt64(0), toFloat64(0), toFloat64(0), inf, -inf, -inf, toDateTime(0), toInt64(n), toFloat64(s), toFloat64(ss)
        FROM ${snap}
      )
      GROUP BY device_id, metric, bucket
      HAVING raw_n > 0 AND settled_in < now() - ${settleS}
        AND (dn != 0 OR abs(ds) > ${TOLERANCE} * (1 + sqrt(greatest(raw_n, 1) * mag)) OR abs(dss) > ${TOLERANCE} * (1 + mag))`);
    const n = Number((await db.query<{ n: string }>(`SELECT count() AS n FROM ${fix}`))[0]?.n ?? 0);
    if (n === 0) return 0;
    const states = "sumState(dn), minState(vmin), maxState(vmax), sumState(ds), sumState(dss), maxState(vscore)";
    await db.exec(`INSERT INTO ${READINGS_1M_TABLE} (${ROLLUP_COLUMNS}) SELECT device_id, metric, bucket, ${states} FROM ${fix} GROUP BY device_id, metric, bucket`);
    await db.exec(`INSERT INTO ${READINGS_1H_TABLE} (${ROLLUP_COLUMNS})
      SELECT device_id, metric, toDateTime(intDiv(toUInt32(bucket), 3600) * 3600) AS hour, ${states} FROM ${fix} GROUP BY device_id, metric, hour`);
    return n;
  } finally {
    await db.exec(`DROP TABLE IF EXISTS ${snap}`);
    await db.exec(`DROP TABLE IF EXISTS ${fix}`);
  }
}

/** Drop temporary tables (reconciler passes, backfill copies) a process that died left behind. */
async function dropLeftovers(db: SqlRunner, nowMs: number): Promise<void> {
  const rows = await db.query<{ name: string }>(
    "SELECT name FROM system.tables WHERE database = currentDatabase() AND match(name, '^(rollup_(snap|fix)|[a-z_0-9]+_backfill)_[0-9]+_[0-9a-f]+$')",
  );
  for (const { name } of rows) {
    const at = Number(/_(\d+)_[0-9a-f]+$/.exec(name)?.[1] ?? Infinity);
    if (at < nowMs / 1000 - LEFTOVER_S) await db.exec(`DROP TABLE IF EXISTS ${name}`);
  }
}

/** A unique suffix for temporary tables: the second it was made (leftovers are recognised by it) and random hex. */
function tempTag(): string {
  return `${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString("hex")}`;
}

/**
 * The minutes (start, ms) of the readings of a row log entry ([] for other tables), for reconciling
 * what a repair inserted again; undefined when the entry cannot be read.
 */
export function readingMinutes(e: LoggedRows): number[] | undefined {
  if (e.table !== READINGS_TABLE) return [];
  let stamps: unknown[];
  try {
    if (e.format === "JSONEachRow") {
      const dec = new TextDecoder();
      const text = e.chunks.map((c) => dec.decode(c, { stream: true })).join("") + dec.decode();
      stamps = text.split("\n").filter((l) => l !== "").map((l) => (JSON.parse(l) as { ts_ms?: unknown }).ts_ms);
    } else {
      const columns = e.columns.map((n) => READINGS_SCHEMA.columns.find((c) => c.name === n));
      if (columns.some((c) => c === undefined)) return undefined;
      const schema: RowSchema = { columns: columns as RowSchema["columns"] };
      stamps = readRows({ schema, rows: e.rows, chunks: e.chunks }).map((r) => r.ts_ms);
    }
  } catch {
    return undefined;
  }
  const minutes = new Set<number>();
  for (const t of stamps) {
    if (typeof t !== "number" || !Number.isFinite(t)) return undefined;
    minutes.add(Math.floor(t / MINUTE_MS) * MINUTE_MS);
  }
  return [...minutes];
}

/** Minutes as [from, to) ranges, neighbours less than `joinGapMs` apart merged (each range is one scan of the readings). */
export function minuteRanges(minutes: Iterable<number>, joinGapMs: number = HOUR_MS): Array<{ fromMs: number; toMs: number }> {
  const sorted = [...minutes].sort((a, b) => a - b);
  const out: Array<{ fromMs: number; toMs: number }> = [];
  for (const m of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && m - last.toMs < joinGapMs) last.toMs = Math.max(last.toMs, m + MINUTE_MS);
    else out.push({ fromMs: m, toMs: m + MINUTE_MS });
  }
  return out;
}
