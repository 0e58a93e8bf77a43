import type { ClickHouseClient } from "@clickhouse/client";
import type { Clock } from "../../ports/clock.js";
import type { Row } from "../../ports/row-sink.js";
import { sleep } from "../../base/clock.js";
import { backoffMs } from "../../base/backoff.js";
import { insertEncoded } from "./encoded-rows.js";
import { identifier, toStorageError } from "./errors.js";

/** One table's rows of one accepted insert, as they were sent. */
export type AcceptedRows =
  | { readonly format: "RowBinary"; readonly columns: readonly string[]; readonly chunks: readonly Uint8Array[]; readonly rows: number }
  | { readonly format: "JSONEachRow"; readonly objects: readonly Row[] };

export interface DerivedFeedOptions {
  /** How often pending rows are inserted, ms. */
  readonly intervalMs: number;
  /** Pending rows at which an insert starts without waiting for the interval. */
  readonly flushRows: number;
  /** Pending rows above which the oldest are dropped (counted; the reconciler restores the rollups). */
  readonly maxPendingRows: number;
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
  /** Told of every failed or dropped feed insert: a reason without row contents, and how many rows. */
  readonly onLoss?: (reason: string, rows: number) => void;
}

/** Counters of the feed (part of the sink's stats, exported as metrics). */
export interface DerivedFeedStats {
  feedRows: number;
  feedInserts: number;
  feedFailures: number;
  feedRowsDropped: number;
  pendingFeedRows: number;
}

interface Entry {
  readonly target: string;
  readonly rows: AcceptedRows;
  readonly count: number;
}

/**
 * Copies of accepted inserts for tables whose only job is to feed views (`readings` →
 * `readings_feed`, engine Null: the rollups and device_status; docs/adr/0013 decision 7), gathered
 * and inserted every `intervalMs` (at once from `flushRows` pending), one insert at a time. Derived data, so nothing waits for it and
 * it is not in the row log: a process that dies loses at most what was pending (the reconciler
 * brings the rollups back to the readings; device_status may count that many readings fewer). A
 * retryable failure is retried with backoff; a non-retryable one (a view that throws may have
 * written some of its tables) drops the batch rather than count it twice. Every loss is counted and
 * reported.
 */
export class DerivedFeed {
  private pending: Entry[] = [];
  private pendingRows = 0;
  private timer: ReturnType<Clock["setTimeout"]> | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly targets: ReadonlyMap<string, string>,
    private readonly clock: Clock,
    private readonly o: DerivedFeedOptions,
    private readonly stats: DerivedFeedStats,
  ) {}

  /** Whether inserts into `table` are copied somewhere. */
  feeds(table: string): boolean {
    return this.targets.has(table);
  }

  /** Queue a copy of rows ClickHouse accepted into `table` (nothing when no table is fed from it). */
  offer(table: string, rows: AcceptedRows): void {
    const target = this.targets.get(table);
    if (target === undefined || this.closed) return;
    const count = rows.format === "RowBinary" ? rows.rows : rows.objects.length;
    if (count === 0) return;
    this.pending.push({ target, rows, count });
    this.pendingRows += count;
    while (this.pendingRows > this.o.maxPendingRows && this.pending.length > 1) {
      const old = this.pending.shift()!;
      this.pendingRows -= old.count;
      this.lose(`more than ${this.o.maxPendingRows} rows waiting for ${old.target}: oldest dropped`, old.count);
    }
    this.stats.pendingFeedRows = this.pendingRows;
    if (this.running !== undefined) return;
    if (this.pendingRows >= this.o.flushRows) this.run();
    else this.timer ??= this.clock.setTimeout(() => this.run(), this.o.intervalMs);
  }

  /** Insert everything pending now and wait for it. */
  async flush(): Promise<void> {
    while (this.pending.length > 0 || this.running !== undefined) {
      if (this.running === undefined) this.run();
      await this.running;
    }
  }

  /** Take no more, and insert what is pending once (a failure then drops it: shutdown does not wait on derived rows). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private run(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running !== undefined || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingRows = 0;
    this.stats.pendingFeedRows = 0;
    this.running = this.insertAll(batch).finally(() => {
      this.running = undefined;
      if (this.pending.length === 0 || this.closed) return;
      if (this.pendingRows >= this.o.flushRows) this.run();
      else this.timer = this.clock.setTimeout(() => this.run(), this.o.intervalMs);
    });
  }

  /** One insert per target and column list (RowBinary chunks as they came; objects as JSONEachRow). */
  private async insertAll(batch: readonly Entry[]): Promise<void> {
    const groups = new Map<string, { target: string; columns: readonly string[]; chunks: Uint8Array[]; objects: Row[]; count: number }>();
    for (const e of batch) {
      const key = e.rows.format === "RowBinary" ? `${e.target}\u0000${e.rows.columns.join(",")}` : `${e.target}\u0000json`;
      let g = groups.get(key);
      if (g === undefined) groups.set(key, (g = { target: e.target, columns: e.rows.format === "RowBinary" ? e.rows.columns : [], chunks: [], objects: [], count: 0 }));
      if (e.rows.format === "RowBinary") for (const c of e.rows.chunks) g.chunks.push(c);
      else for (const r of e.rows.objects) g.objects.push(r);
      g.count += e.count;
    }
    for (const g of groups.values()) {
      const insert = () =>
        g.objects.length > 0
          ? this.client.insert({ table: identifier(g.target), values: g.objects, format: "JSONEachRow" }).then(() => undefined)
          : insertEncoded(this.client, g.target, "RowBinary", g.columns, g.chunks);
      await this.insertRetrying(g.target, g.count, insert);
    }
  }

  private async insertRetrying(target: string, count: number, insert: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await insert();
        this.stats.feedInserts++;
        this.stats.feedRows += count;
        return;
      } catch (e) {
        this.stats.feedFailures++;
        const err = toStorageError(e, `ClickHouse insert into ${target} failed`);
        if (!err.retryable || this.closed) {
          this.lose(`${err.message}: rows not fed (the reconciler restores the rollups)`, count);
          return;
        }
        await sleep(backoffMs(attempt, this.o.retryMinMs, this.o.retryMaxMs), this.clock);
      }
    }
  }

  private lose(reason: string, rows: number): void {
    this.stats.feedRowsDropped += rows;
    this.o.onLoss?.(reason, rows);
  }
}
