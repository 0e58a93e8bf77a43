import { sqlString, type SqlRunner } from "./sql.js";

/**
 * Retention on ClickHouse 18.16, which has no TTL clause (docs/adr/0013-rollups-and-retention.md):
 * whole partitions older than a table's cutoff are dropped (cheap: files removed), and at most once
 * per `deleteEveryMs` the expired rows left in the partition holding the cutoff are deleted with a
 * mutation (`ALTER TABLE … DELETE WHERE`, asynchronous: ClickHouse rewrites the partition's parts).
 * Idempotent: every runtime may run it; a table whose previous mutation is still running gets none.
 */

/** Each table kept by retention and the DateTime column its age is read from (its partition key's). */
export const RETENTION_TIME_COLUMNS: Readonly<Record<string, string>> = {
  readings: "ts",
  readings_1m: "bucket",
  readings_1h: "bucket",
  analyses: "ts",
  anomaly_windows: "ts",
  device_events: "at",
  dead_letters: "at",
  alerts: "started_at",
  alert_transitions: "at",
  reports: "period_to",
  audit_log: "at",
};

/** How long each table keeps rows, ms; 0 (or absent) = forever. Keys: {@link RETENTION_TIME_COLUMNS}. */
export type RetentionPolicy = Readonly<Record<string, number>>;

/** What one run did. */
export interface RetentionSummary {
  /** Partitions dropped, with the rows they held. */
  readonly dropped: ReadonlyArray<{ table: string; partition: string; rows: number }>;
  /** Boundary deletes started (mutations), with the rows they remove. */
  readonly deleted: ReadonlyArray<{ table: string; rows: number }>;
  /** Tables whose boundary delete waits for their previous mutation. */
  readonly busy: readonly string[];
}

/**
 * One retention run at `nowMs`: per table with a retention, drop every partition whose newest row
 * is older than the cutoff; with `deleteBoundary`, also delete the older rows left (a mutation,
 * unless one is still running on the table). Tables that do not exist are skipped.
 */
export async function applyRetention(db: SqlRunner, policy: RetentionPolicy, o: { nowMs: number; deleteBoundary: boolean }): Promise<RetentionSummary> {
  const dropped: Array<{ table: string; partition: string; rows: number }> = [];
  const deleted: Array<{ table: string; rows: number }> = [];
  const busy: string[] = [];
  const existing = new Set((await db.query<{ name: string }>("SELECT name FROM system.tables WHERE database = currentDatabase()")).map((r) => r.name));
  for (const [table, column] of Object.entries(RETENTION_TIME_COLUMNS)) {
    const keepMs = policy[table] ?? 0;
    if (!(keepMs > 0) || !existing.has(table)) continue;
    const cutoffS = Math.floor((o.nowMs - keepMs) / 1000);
    if (cutoffS <= 0) continue;
    const parts = await db.query<{ id: string; newest: number | string; rows: number | string }>(
      `SELECT partition_id AS id, toUInt32(max(max_time)) AS newest, sum(rows) AS rows FROM system.parts
       WHERE database = currentDatabase() AND table = ${sqlString(table)} AND active GROUP BY partition_id`,
    );
    for (const p of parts) {
      // 0: the part has no time range (a partition key without the column): never dropped on a guess.
      if (Number(p.newest) >= cutoffS || Number(p.newest) === 0) continue;
      await db.exec(`ALTER TABLE ${table} DROP PARTITION ID ${sqlString(p.id)}`);
      dropped.push({ table, partition: p.id, rows: Number(p.rows) });
    }
    if (!o.deleteBoundary) continue;
    const cond = `${column} < toDateTime(${cutoffS})`;
    const expired = Number((await db.query<{ n: string }>(`SELECT count() AS n FROM ${table} WHERE ${cond}`))[0]?.n ?? 0);
    if (expired === 0) continue;
    const running = await db.query<{ n: string }>(`SELECT count() AS n FROM system.mutations WHERE database = currentDatabase() AND table = ${sqlString(table)} AND is_done = 0`);
    if (Number(running[0]?.n ?? 0) > 0) {
      busy.push(table);
      continue;
    }
    await db.exec(`ALTER TABLE ${table} DELETE WHERE ${cond}`);
    deleted.push({ table, rows: expired });
  }
  return { dropped, deleted, busy };
}

/** Options of {@link RetentionJob}. */
export interface RetentionJobOptions {
  readonly policy: RetentionPolicy;
  /** How often partitions are checked, ms. */
  readonly checkEveryMs: number;
  /** Least time between two boundary deletes (mutations rewrite a partition), ms. */
  readonly deleteEveryMs: number;
}

/**
 * Runs {@link applyRetention}: partitions at every call of `run`, boundary deletes when
 * `deleteEveryMs` has passed since the last (the first run deletes). The caller schedules it.
 */
export class RetentionJob {
  private lastDeleteAt = -Infinity;

  constructor(
    private readonly db: SqlRunner,
    private readonly o: RetentionJobOptions,
    private readonly now: () => number = Date.now,
  ) {}

  async run(): Promise<RetentionSummary> {
    const nowMs = this.now();
    const deleteBoundary = nowMs - this.lastDeleteAt >= this.o.deleteEveryMs;
    const summary = await applyRetention(this.db, this.o.policy, { nowMs, deleteBoundary });
    if (deleteBoundary) this.lastDeleteAt = nowMs;
    return summary;
  }
}

/** One line for the log: what a run dropped and deleted. */
export function describeRetention(s: RetentionSummary): string {
  const dropped = s.dropped.map((d) => `${d.table}/${d.partition} (${d.rows} rows)`);
  const deleted = s.deleted.map((d) => `${d.table} (${d.rows} rows)`);
  return [
    dropped.length > 0 ? `dropped partitions ${dropped.join(", ")}` : "no partition expired",
    deleted.length > 0 ? `deleting expired rows of ${deleted.join(", ")}` : "",
    s.busy.length > 0 ? `still deleting in ${s.busy.join(", ")}` : "",
  ]
    .filter((x) => x !== "")
    .join("; ");
}
