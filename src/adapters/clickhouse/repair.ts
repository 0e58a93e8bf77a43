import type { ClickHouseClient } from "@clickhouse/client";
import type { Clock, TimerHandle } from "../../ports/clock.js";
import type { IncidentReporter } from "../../ports/incidents.js";
import type { Log } from "../../ports/log.js";
import type { LoggedRows, RowLog } from "../../ports/row-log.js";
import { errorMessage } from "../../base/errors.js";
import { insertEncoded } from "./encoded-rows.js";
import { identifier, toStorageError } from "./errors.js";
import { minuteRanges, readingMinutes, reconcileRollups } from "./rollups.js";
import { sleep } from "../../base/clock.js";

/** Options of {@link StoreRepair}. */
export interface StoreRepairOptions {
  /** This node (its row in `repair_markers`). */
  readonly node: string;
  /** How far before its restart ClickHouse may have lost inserts it had accepted, ms. */
  readonly lookbackMs: number;
  /** How often ClickHouse's uptime is read, ms. */
  readonly checkEveryMs: number;
  /** Most bytes of rows per repair insert (every insert is a part). Default 64 MiB. */
  readonly maxInsertBytes?: number;
  /**
   * Rollups (docs/adr/0013-rollups-and-retention.md): the views counted the readings inserted again
   * a second time, so after a repair the minutes they fall in are reconciled, `settleMs` later
   * (default 2 s), never before `notBeforeMs()` (the readings' retention cutoff). false: not at all.
   */
  readonly rollups?: { readonly settleMs?: number; readonly notBeforeMs?: () => number } | false;
}

/** What one repair did. */
export interface RepairReport {
  readonly reason: string;
  readonly fromMs: number;
  readonly untilMs: number;
  /** Row log entries read. */
  readonly entries: number;
  /** Per table: rows the log holds for the window, rows ClickHouse had of that window before, rows inserted again. */
  readonly tables: ReadonlyArray<{ table: string; logged: number; presentBefore: number; missing: number }>;
  /** Rows missing before the repair (at least; see ADR 0012), all tables. */
  readonly missing: number;
  /** Rows inserted again (every logged row of the window: identical rows replace each other). */
  readonly reinserted: number;
  /** Rollup buckets the reconciler corrected after the repair (undefined: not reconciled). */
  readonly rollupBuckets?: number;
  readonly tookMs: number;
}

/**
 * Keeps ClickHouse whole from the row log (docs/adr/0012-row-log-repair.md): every `checkEveryMs`
 * looks whether ClickHouse restarted (see `check`); when it did, inserts again every row the log
 * holds from `lookbackMs` before the last insert it had accepted up to its restart. Every table
 * replaces identical rows, so inserting again is safe. A repair that found rows missing is an
 * incident (loud); one that fails is kept and run at the next check.
 */
export class StoreRepair {
  private watched = false;
  private pending: { fromMs: number; untilMs: number; reason: string } | undefined;
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  readonly reports: RepairReport[] = [];

  constructor(
    private readonly client: ClickHouseClient,
    private readonly rowLog: RowLog,
    private readonly deps: {
      readonly clock: Clock;
      readonly log: Log;
      readonly incidents: IncidentReporter;
      readonly lastAcceptedInsertAt: () => number;
      /**
       * Resolves once every insert this process's sink had accepted so far is in the row log (its
       * appends run behind the inserts). With it a repair's window ends when the restart was seen,
       * after those appends: an insert the old ClickHouse accepted and whose append was held up past
       * the restart (a row log leader election) is in the window. Without it (`shoal repair`): at
       * ClickHouse's start.
       */
      readonly loggedSoFar?: () => Promise<void>;
    },
    private readonly o: StoreRepairOptions,
  ) {}

  /** Check now, then every `checkEveryMs`. */
  start(): void {
    const tick = () => {
      if (this.closed) return;
      this.running = this.check()
        .then(() => undefined)
        .catch((e: unknown) => this.deps.log.warn({ err: errorMessage(e) }, "ClickHouse repair check failed; trying again"))
        .finally(() => {
          this.running = undefined;
          if (!this.closed) this.timer = this.deps.clock.setTimeout(tick, this.o.checkEveryMs);
        });
    };
    tick();
  }

  /** Stop checking; closes the ClickHouse client it was given. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.deps.clock.clearTimeout(this.timer);
    await this.running;
    await this.client.close();
  }

  /**
   * One check: notice a restart, run a pending repair. Resolves with the repair's report, if one ran.
   * A restart shows as this node's row gone from `repair_markers` (a Memory table: ClickHouse forgets
   * its rows when it restarts). No row at the first look: ClickHouse restarted while this node was not
   * watching, or this node never looked before; either way the window before its start is checked.
   */
  async check(): Promise<RepairReport | undefined> {
    const node = this.o.node.replace(/'/g, "");
    const marked = (await this.scalar(`SELECT count() AS v FROM repair_markers WHERE node = '${node}'`)) > 0;
    if (!marked) {
      const now = this.deps.clock.now();
      const startedMs = now - (await this.scalar("SELECT uptime() AS v")) * 1000;
      const accepted = this.deps.lastAcceptedInsertAt();
      const anchor = accepted > 0 && accepted < startedMs ? accepted : startedMs;
      const reason = this.watched ? "ClickHouse restarted" : "ClickHouse may have restarted while this node was not watching";
      let untilMs = startedMs;
      if (this.deps.loggedSoFar !== undefined) {
        await this.deps.loggedSoFar();
        untilMs = Math.max(startedMs, this.deps.clock.now());
      }
      // Several restarts before one repair ran: the earliest window start covers them all.
      this.pending = { fromMs: Math.min(this.pending?.fromMs ?? Infinity, anchor - this.o.lookbackMs), untilMs: Math.max(untilMs, this.pending?.untilMs ?? 0), reason };
      // A restart seen while watching is news (warn); the first look of a process usually is not.
      const fields = { startedAt: new Date(startedMs).toISOString() };
      const msg = `${reason}: checking the row log for inserts it may have lost`;
      if (this.watched) this.deps.log.warn(fields, msg);
      else this.deps.log.info(fields, msg);
      await this.client.command({ query: `INSERT INTO repair_markers (node, at_ms) VALUES ('${node}', ${now})` }).catch((e: unknown) => {
        throw toStorageError(e, "ClickHouse repair marker not written");
      });
    }
    this.watched = true;
    if (this.pending === undefined) return undefined;
    const p = this.pending;
    const report = await this.repair(p.fromMs, p.untilMs, p.reason);
    this.pending = undefined;
    return report;
  }

  /** Insert again every row the log holds for [fromMs, untilMs] (every writer's). */
  async repair(fromMs: number, untilMs: number, reason: string): Promise<RepairReport> {
    const t0 = this.deps.clock.now();
    const logged = new Map<string, number>();
    const presentBefore = new Map<string, number>();
    let entries = 0;
    let reinserted = 0;
    let minutes: Set<number> | undefined = new Set();
    const groups = new Map<string, { e: LoggedRows; chunks: Uint8Array[]; rows: number; bytes: number }>();
    const flush = async (key: string) => {
      const g = groups.get(key);
      if (g === undefined) return;
      groups.delete(key);
      await insertEncoded(this.client, g.e.table, g.e.format, g.e.columns, g.chunks);
      reinserted += g.rows;
    };
    for await (const e of this.rowLog.read(fromMs, untilMs, { all: true })) {
      entries++;
      if (!presentBefore.has(e.table)) presentBefore.set(e.table, await this.presentIn(e.table, fromMs, untilMs));
      logged.set(e.table, (logged.get(e.table) ?? 0) + e.rows);
      const m = minutes && readingMinutes(e);
      if (m === undefined) minutes = undefined;
      else for (const x of m) minutes!.add(x);
      const key = `${e.table}|${e.format}|${e.columns.join(",")}`;
      let g = groups.get(key);
      if (g === undefined) groups.set(key, (g = { e, chunks: [], rows: 0, bytes: 0 }));
      for (const c of e.chunks) {
        g.chunks.push(c);
        g.bytes += c.length;
      }
      g.rows += e.rows;
      if (g.bytes >= (this.o.maxInsertBytes ?? 64 * 1024 * 1024)) await flush(key);
    }
    for (const key of [...groups.keys()]) await flush(key);
    const tables = [...logged].map(([table, n]) => {
      const before = presentBefore.get(table) ?? 0;
      return { table, logged: n, presentBefore: before, missing: Math.max(0, n - before) };
    });
    const missing = tables.reduce((a, t) => a + t.missing, 0);
    const tookMs = this.deps.clock.now() - t0;
    // Loud first (the rows are back now), then the rollups of the minutes inserted again.
    const detail = { from: new Date(fromMs).toISOString(), until: new Date(untilMs).toISOString(), entries, missing, reinserted, tookMs, tables: Object.fromEntries(tables.map((t) => [t.table, t.missing])) };
    if (missing > 0) {
      this.deps.incidents.report({ kind: "store.rows-missing", message: `${reason}: it had lost ${missing} rows it had accepted; inserted again from the row log`, detail });
    } else {
      this.deps.log.info(detail, `${reason}: no rows missing (${reinserted} rows of the window inserted again)`);
    }
    const rollupBuckets = await this.reconcileRollups(minutes);
    const report: RepairReport = { reason, fromMs, untilMs, entries, tables, missing, reinserted, ...(rollupBuckets === undefined ? {} : { rollupBuckets }), tookMs };
    this.reports.push(report);
    return report;
  }

  /** Reconcile the rollups of the minutes of the readings inserted again; undefined when not done. */
  private async reconcileRollups(minutes: Set<number> | undefined): Promise<number | undefined> {
    const o = this.o.rollups ?? {};
    if (o === false || minutes?.size === 0) return undefined;
    if (minutes === undefined) {
      this.deps.log.warn("repair: readings of the row log could not be read back; rollups are left to the periodic reconciliation");
      return undefined;
    }
    const settleMs = o.settleMs ?? 2000;
    // The rows inserted again must be older than the settle time to be compared (ingest time in whole seconds).
    await sleep(settleMs + 1000, this.deps.clock);
    try {
      let n = 0;
      for (const r of minuteRanges(minutes)) {
        n += await reconcileRollups(this.client, r.fromMs, r.toMs, { settleMs, now: () => this.deps.clock.now(), ...(o.notBeforeMs ? { notBeforeMs: o.notBeforeMs() } : {}) });
      }
      return n;
    } catch (e) {
      this.deps.log.warn({ err: errorMessage(e) }, "repair: rollups not reconciled (the periodic reconciliation covers the recent window)");
      return undefined;
    }
  }

  /** Rows of `table` ClickHouse took in the window (by its own ingest time), a second early for clock edges. */
  private async presentIn(table: string, fromMs: number, untilMs: number): Promise<number> {
    const from = Math.floor(fromMs / 1000) - 1;
    const until = Math.ceil(untilMs / 1000);
    return this.scalar(`SELECT count() AS v FROM ${identifier(table)} WHERE ingested_at >= toDateTime(${from}) AND ingested_at <= toDateTime(${until})`);
  }

  private async scalar(query: string): Promise<number> {
    try {
      const rows = (await (await this.client.query({ query, format: "JSONEachRow" })).json()) as Array<{ v: number | string }>;
      return Number(rows[0]?.v ?? 0);
    } catch (e) {
      throw toStorageError(e, "ClickHouse repair query failed");
    }
  }
}
