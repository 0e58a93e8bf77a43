import type { ClickHouseClient } from "@clickhouse/client";
import type { Clock } from "../../ports/clock.js";
import type { RowSink, RowsByTable, WriteOptions } from "../../ports/row-sink.js";
import { ShoalError } from "../../base/errors.js";
import { createClickHouseClient, type ClickHouseOptions } from "./client.js";
import { toStorageError } from "./errors.js";
import { sleep } from "../../base/clock.js";
import type { RowLog, RowLogEntry } from "../../ports/row-log.js";
import { insertTables } from "./sink-insert.js";
import { mergeRows, type TableRows } from "./sink-rows.js";
import { DerivedFeed, type DerivedFeedStats } from "./derived-feed.js";
import { READINGS_FEED_TABLE, READINGS_TABLE } from "../../domain/tables.js";

/** Batching options of the ClickHouse sink. */
export interface ClickHouseSinkOptions extends ClickHouseOptions {
  /** Flush when this many rows are pending (all tables). Default 10000. */
  readonly flushRows: number;
  /**
   * How long rows wait for more before an insert starts, ms (from the first pending urgent row).
   * Inserts run one at a time: rows arriving during one go into the next. Every insert costs
   * ClickHouse a part (~10 ms of its CPU on 18.16, merges included), so this trades latency for CPU.
   */
  readonly flushIntervalMs: number;
  /** How long lazy rows (see WriteOptions) wait at most, ms. Default 10 × flushIntervalMs, at least 1 s. */
  readonly lazyFlushIntervalMs?: number;
  /** Pending rows above which write() waits (backpressure). Default 8 × flushRows. */
  readonly maxPendingRows?: number;
  /** Backoff bounds for retryable insert failures, ms. Defaults 100 and 5000. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /**
   * Tables fed a copy of every accepted insert into another, at the lazy interval (see DerivedFeed).
   * Default: readings → readings_feed, whose views keep the rollups and device_status (migration 18).
   */
  readonly feeds?: ReadonlyMap<string, string>;
  /** Told when copies for a feed were not inserted (reason, rows); the counters say it too. */
  readonly onFeedLoss?: (reason: string, rows: number) => void;
  /** Told of each insert ClickHouse accepted: ms from the start of the attempt it accepted, and its rows. */
  readonly onInsert?: (ms: number, rows: number) => void;
}

/** What the read model's views are fed from (docs/adr/0013-rollups-and-retention.md, decision 7). */
export const READ_MODEL_FEEDS: ReadonlyMap<string, string> = new Map([[READINGS_TABLE, READINGS_FEED_TABLE]]);

/** Counters of the sink (exported as metrics by the composition root). */
export interface SinkStats extends DerivedFeedStats {
  rowsWritten: number;
  inserts: number;
  insertFailures: number;
  pendingRows: number;
}

interface Pending {
  readonly rows: RowsByTable;
  readonly count: number;
  readonly lazy: boolean;
  readonly traceparent: string | undefined;
  resolve(): void;
  reject(e: unknown): void;
}

/**
 * RowSink on ClickHouse: coalesces writes into one insert per table per flush (RowBinary, or
 * JSONEachRow when some rows came as objects; 10k–100k rows about once a second), resolves each
 * write only when its rows are inserted, retries retryable failures with backoff (the batch stays
 * pending, so upstream acks wait), isolates non-retryable failures to the writes that caused them,
 * and makes writers wait when too much is pending.
 */
export class ClickHouseSink implements RowSink {
  readonly stats: SinkStats = { rowsWritten: 0, inserts: 0, insertFailures: 0, pendingRows: 0, feedRows: 0, feedInserts: 0, feedFailures: 0, feedRowsDropped: 0, pendingFeedRows: 0 };
  private queue: Pending[] = [];
  private timer: ReturnType<Clock["setTimeout"]> | undefined;
  private timerAt = 0;
  private lastInsertAt = 0;
  private lastAcceptedAt = 0;
  private flushNow = false;
  private urgentQueued = 0;
  private flushing: Promise<void> | undefined;
  private waiters: Array<() => void> = [];
  /** Inserts ClickHouse accepted whose row log appends are still under way, and their rows. */
  private readonly logging = new Set<Promise<void>>();
  private loggingRows = 0;
  private closed = false;
  private readonly maxPending: number;
  private readonly feed: DerivedFeed;

  private constructor(
    private readonly client: ClickHouseClient,
    private readonly o: ClickHouseSinkOptions,
    private readonly clock: Clock,
    private readonly rowLog: RowLog | undefined,
  ) {
    this.maxPending = o.maxPendingRows ?? o.flushRows * 8;
    this.feed = new DerivedFeed(
      client,
      o.feeds ?? READ_MODEL_FEEDS,
      clock,
      { intervalMs: this.lazyIntervalMs(), flushRows: o.flushRows, maxPendingRows: 4 * this.maxPending, retryMinMs: o.retryMinMs ?? 100, retryMaxMs: o.retryMaxMs ?? 5000, ...(o.onFeedLoss ? { onLoss: o.onFeedLoss } : {}) },
      this.stats,
    );
  }

  private lazyIntervalMs(): number {
    return this.o.lazyFlushIntervalMs ?? Math.max(1000, 10 * this.o.flushIntervalMs);
  }

  /**
   * With a `rowLog`, every insert ClickHouse accepted is logged there before its writes resolve,
   * so ClickHouse can be repaired from it (docs/adr/0012-row-log-repair.md). `client`: the
   * ClickHouse client to use (default: one made from `o`).
   */
  static create(o: ClickHouseSinkOptions, clock: Clock, rowLog?: RowLog, client: ClickHouseClient = createClickHouseClient(o, o.database)): ClickHouseSink {
    return new ClickHouseSink(client, o, clock, rowLog);
  }

  /** Resolves once the row log holds every insert accepted so far (their appends settled, logged or failed). */
  async loggedSoFar(): Promise<void> {
    await Promise.allSettled([...this.logging]);
  }

  /** When the last insert was accepted (ms; 0 before the first): where a repair's lookback starts. */
  get lastAcceptedInsertAt(): number {
    return this.lastAcceptedAt;
  }

  async write(rows: RowsByTable, opts: WriteOptions = {}): Promise<void> {
    if (this.closed) throw new ShoalError("sink is closed", { code: "closed", retryable: true });
    let count = 0;
    for (const r of rows.values()) count += r.length;
    if (count === 0) return;
    while (this.stats.pendingRows + this.loggingRows >= this.maxPending && !this.closed) {
      await new Promise<void>((res) => this.waiters.push(res));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rows, count, lazy: opts.lazy === true, traceparent: opts.traceparent, resolve, reject });
      if (opts.lazy !== true) this.urgentQueued++;
      this.stats.pendingRows += count;
      this.schedule();
    });
  }

  /** Flush everything pending now (inserted and, with a row log, logged; and the feeds' copies inserted). */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.flushing) {
      if (this.flushing) this.flushNow = true;
      else this.kick();
      await this.flushing;
    }
    await Promise.all(this.logging);
    await this.feed.flush();
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    await this.feed.close();
    this.wakeWriters();
    await this.client.close();
  }

  /**
   * When the next insert starts: at once above `flushRows` pending; else `flushIntervalMs` after
   * the previous insert started (urgent rows waiting) or the lazy interval (only lazy rows).
   */
  private schedule(): void {
    if (this.queue.length === 0 || this.flushing) return;
    if (this.stats.pendingRows >= this.o.flushRows) return this.kick();
    const urgent = this.urgentQueued > 0;
    const interval = urgent ? this.o.flushIntervalMs : this.lazyIntervalMs();
    this.arm(Math.max(0, this.lastInsertAt + interval - this.clock.now()));
  }

  /** Start an insert within `ms` (an earlier deadline already set stays). */
  private arm(ms: number): void {
    const at = this.clock.now() + ms;
    if (this.timer !== undefined && this.timerAt <= at) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => this.kick(), ms);
  }

  private kick(): void {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.flushing || this.queue.length === 0) return;
    this.lastInsertAt = this.clock.now();
    this.flushing = this.insertQueued().finally(() => {
      this.flushing = undefined;
      // Rows that came during the insert go with the next one (not back to back: each costs a part).
      if (this.flushNow) {
        this.flushNow = false;
        this.kick();
      } else this.schedule();
    });
  }

  private async insertQueued(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    this.urgentQueued = 0;
    await this.insertBatch(batch);
    let n = 0;
    for (const p of batch) n += p.count;
    this.stats.pendingRows -= n;
    this.wakeWriters();
  }

  private wakeWriters(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Insert a batch; retry while retryable; on a non-retryable error, isolate per write. */
  private async insertBatch(batch: Pending[]): Promise<void> {
    const merged = mergeRows(batch.map((p) => p.rows));
    const traceparent = batch.find((p) => p.traceparent !== undefined)?.traceparent;
    let delay = this.o.retryMinMs ?? 100;
    for (;;) {
      try {
        this.settleWhenLogged(batch, await this.insertTables(merged, traceparent));
        return;
      } catch (e) {
        this.stats.insertFailures++;
        const err = toStorageError(e, "ClickHouse insert failed");
        if (!err.retryable) break;
        if (this.closed) {
          for (const p of batch) p.reject(err);
          return;
        }
        await sleep(delay, this.clock);
        delay = Math.min(delay * 2, this.o.retryMaxMs ?? 5000);
      }
    }
    // A non-retryable failure: some write carries bad rows. Insert each write alone so good ones land.
    for (const p of batch) {
      try {
        this.settleWhenLogged([p], await this.insertTables(mergeRows([p.rows]), p.traceparent));
      } catch (e) {
        p.reject(toStorageError(e, "ClickHouse rejected rows"));
      }
    }
  }

  /**
   * Resolves the writes of an insert ClickHouse accepted: at once without a row log; with one, once
   * what was inserted is logged too. The next insert does not wait for that: a row log stalled by a
   * leader election holds back the writes' acknowledgements (and, at `maxPendingRows`, the writers),
   * not the rows reaching ClickHouse.
   */
  private settleWhenLogged(batch: readonly Pending[], entries: readonly RowLogEntry[]): void {
    if (this.rowLog === undefined || entries.length === 0) {
      for (const p of batch) p.resolve();
      return;
    }
    let rows = 0;
    for (const p of batch) rows += p.count;
    this.loggingRows += rows;
    const done: Promise<void> = this.rowLog.append(entries).then(
      () => {
        for (const p of batch) p.resolve();
      },
      (e: unknown) => {
        for (const p of batch) p.reject(e);
      },
    );
    this.logging.add(done);
    void done.finally(() => {
      this.logging.delete(done);
      this.loggingRows -= rows;
      this.wakeWriters();
    });
  }

  /** Insert one batch's tables (see insertTables); returns what a row log is to keep of it. */
  private async insertTables(rows: ReadonlyMap<string, TableRows>, traceparent: string | undefined): Promise<RowLogEntry[]> {
    const started = this.clock.now();
    const done = await insertTables(this.client, this.feed, rows, traceparent, this.rowLog?.maxEntryBytes);
    this.lastAcceptedAt = this.clock.now();
    this.o.onInsert?.(this.lastAcceptedAt - started, done.rows);
    this.stats.inserts += done.inserts;
    this.stats.rowsWritten += done.rows;
    return done.logEntries;
  }
}
