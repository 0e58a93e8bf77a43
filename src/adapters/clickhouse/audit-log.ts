import { randomBytes } from "node:crypto";
import type { AuditEvent, AuditLog, AuditReader } from "../../ports/audit.js";
import type { Clock, TimerHandle } from "../../ports/clock.js";
import type { Log } from "../../ports/log.js";
import { backoffMs } from "../../base/backoff.js";
import { systemClock } from "../../base/clock.js";
import { errorMessage } from "../../base/errors.js";
import { createClickHouseAuditReader } from "./audit-log-reader.js";
import { createClickHouseClient, type ClickHouseOptions } from "./client.js";
import { toStorageError } from "./errors.js";

/**
 * The audit log on ClickHouse (table `audit_log`, migration 16 in audit-migrations.ts).
 *
 * Durability, honestly: audit rows are written DIRECTLY to ClickHouse, not through the journal or
 * the row log. `record` only queues the event in memory and returns at once (a mutating RPC never
 * waits for, nor fails because of, its audit row); the queue is inserted in batches every
 * `flushIntervalMs`. A failed insert keeps the batch queued and is retried with exponential
 * backoff (`retryMinMs` .. `retryMaxMs`) for as long as the process runs. What is lost: events that
 * arrive while `maxQueued` events already wait (ClickHouse down for long, or a flood of calls), and
 * events still queued when the process dies or when `close()`'s last insert fails. Each loss is
 * logged (error) and counted (`stats.lost`). A batch retried after an ambiguous failure (ClickHouse
 * took it, the answer was lost) is not duplicated: rows are keyed by their `event_id` in a
 * ReplacingMergeTree, read with FINAL. The id is made when the event is recorded ({@link uuidV7}:
 * time-ordered) and returned by the reader as the event's `id`; it has been in every row since
 * migration 16, so no migration was needed to return it (older rows have random version 4 UUIDs).
 */

/** Name of the ClickHouse table. */
export const AUDIT_LOG_TABLE = "audit_log";

/** Longest kept text per column (longer is cut): rejected calls carry whatever the caller sent. */
const MAX_CHARS = { actor: 256, actorRole: 64, source: 256, action: 256, target: 1024, outcome: 128 } as const;
/** Longest `details` JSON kept as is; longer is replaced by a stub saying so. */
export const MAX_DETAILS_CHARS = 16_384;

/** Options of {@link createClickHouseAuditLog}. */
export interface AuditLogOptions {
  readonly log: Log;
  /** How long events wait for more before an insert, ms. Default 1000. */
  readonly flushIntervalMs?: number;
  /** Most events waiting to be written; more are lost (logged, counted). Default 10000. */
  readonly maxQueued?: number;
  /** Most events per insert. Default 5000. */
  readonly maxBatch?: number;
  /** Backoff of a failed insert, ms. Defaults 500 and 30000. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** ClickHouse's limit per list query (max_execution_time), ms. Default 10000. */
  readonly maxExecutionMs?: number;
  readonly clock?: Clock;
}

/** Counters of the audit writer (metrics and tests read them). */
export interface AuditLogStats {
  /** Events accepted into the queue. */
  readonly recorded: number;
  /** Events inserted into ClickHouse. */
  readonly written: number;
  /** Events dropped: queue full, recorded after close, or still queued when close's insert failed. */
  readonly lost: number;
  /** Failed inserts (each retried). */
  readonly failures: number;
  /** Events waiting now. */
  readonly queued: number;
}

/** One row of `audit_log` as inserted (JSONEachRow; MATERIALIZED columns are not written). */
export interface AuditRow {
  readonly event_id: string;
  readonly at_ms: number;
  readonly actor: string;
  readonly actor_role: string;
  readonly source: string;
  readonly action: string;
  readonly target: string;
  readonly outcome: string;
  readonly details: string;
}

/** The audit log's writer and reader, with what a composition root needs to run and stop it. */
export type ClickHouseAuditLog = AuditLog &
  AuditReader & {
    /** Inserts every event queued now; rejects when an insert fails (the events stay queued and are retried). */
    flush(): Promise<void>;
    /** Stops the timer, makes one last insert of what is queued (lost when it fails), closes the clients. */
    close(): Promise<void>;
    readonly stats: AuditLogStats;
  };

/** The audit log on ClickHouse: {@link AuditBatcher} inserting into `audit_log`, and its reader. */
export function createClickHouseAuditLog(cfg: ClickHouseOptions, o: AuditLogOptions): ClickHouseAuditLog {
  const client = createClickHouseClient(cfg);
  const insert = async (rows: readonly AuditRow[]) => {
    try {
      await client.insert({ table: AUDIT_LOG_TABLE, values: rows as AuditRow[], format: "JSONEachRow" });
    } catch (e) {
      throw toStorageError(e, "audit log insert failed");
    }
  };
  const batcher = new AuditBatcher(insert, o);
  const reader = createClickHouseAuditReader(cfg, { maxExecutionMs: o.maxExecutionMs ?? 10_000 });
  return {
    record: (e) => batcher.record(e),
    list: (q) => reader.list(q),
    flush: () => batcher.flush(),
    async close() {
      await batcher.close();
      await Promise.all([client.close(), reader.close()]);
    },
    get stats() {
      return batcher.stats;
    },
  };
}

/**
 * The bounded in-memory queue in front of the inserts (see the file's comment): batches of at most
 * `maxBatch` events, one insert at a time, backoff after a failure, loss past `maxQueued`.
 */
export class AuditBatcher implements AuditLog {
  private queue: AuditRow[] = [];
  private counts = { recorded: 0, written: 0, lost: 0, failures: 0 };
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private attempt = 0;
  private closed = false;
  /** Losses not yet reported in a log line (the first of an episode is logged at once). */
  private unreportedLost = 0;
  private readonly clock: Clock;
  private readonly flushIntervalMs: number;
  private readonly maxQueued: number;
  private readonly maxBatch: number;

  constructor(
    private readonly insert: (rows: readonly AuditRow[]) => Promise<void>,
    private readonly o: Pick<AuditLogOptions, "log" | "flushIntervalMs" | "maxQueued" | "maxBatch" | "retryMinMs" | "retryMaxMs" | "clock">,
    private readonly newId: (nowMs: number) => string = (nowMs) => uuidV7(nowMs),
  ) {
    this.clock = o.clock ?? systemClock;
    this.flushIntervalMs = o.flushIntervalMs ?? 1_000;
    this.maxQueued = Math.max(1, o.maxQueued ?? 10_000);
    this.maxBatch = Math.max(1, o.maxBatch ?? 5_000);
  }

  get stats(): AuditLogStats {
    return { ...this.counts, queued: this.queue.length };
  }

  /** Queues the event (never throws, never waits for ClickHouse). */
  record(event: AuditEvent): Promise<void> {
    try {
      if (this.closed || this.queue.length >= this.maxQueued) {
        this.lose(1, this.closed ? "recorded after the audit log was closed" : `queue full (${this.maxQueued} events waiting)`);
        return Promise.resolve();
      }
      const now = this.clock.now();
      this.queue.push(auditRow(event, this.newId(now), now));
      this.counts.recorded++;
      if (this.queue.length >= this.maxBatch && this.attempt === 0 && this.timer !== undefined) {
        // A full batch goes now rather than at the interval (not during a backoff).
        this.clock.clearTimeout(this.timer);
        this.timer = undefined;
      }
      this.schedule(this.queue.length >= this.maxBatch && this.attempt === 0 ? 0 : this.flushIntervalMs);
    } catch (e) {
      this.lose(1, `not recordable: ${errorMessage(e)}`);
    }
    return Promise.resolve();
  }

  flush(): Promise<void> {
    return this.drain();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    try {
      await this.drain();
    } catch {
      this.lose(this.queue.length, "the last insert before closing failed");
      this.queue = [];
    }
    if (this.unreportedLost > 0) this.reportLost();
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined || this.running !== undefined || this.closed) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.drain().catch(() => {}); // logged and rescheduled by drain
    }, ms);
  }

  /** Inserts until the queue is empty, after the drain already running; one failure ends it. */
  private drain(): Promise<void> {
    const before = this.running;
    const p = (async () => {
      if (before !== undefined) await before.catch(() => {});
      while (this.queue.length > 0) {
        const batch = this.queue.slice(0, this.maxBatch);
        try {
          await this.insert(batch);
        } catch (e) {
          this.counts.failures++;
          this.attempt++;
          this.o.log.warn({ err: errorMessage(e), queued: this.queue.length, attempt: this.attempt }, "audit log insert failed; retrying");
          throw e;
        }
        this.queue.splice(0, batch.length);
        this.counts.written += batch.length;
        if (this.attempt > 0) this.o.log.info({ written: batch.length, queued: this.queue.length }, "audit log insert succeeded again");
        this.attempt = 0;
        if (this.unreportedLost > 0) this.reportLost();
      }
    })();
    this.running = p;
    const settle = () => {
      if (this.running !== p) return;
      this.running = undefined;
      if (this.queue.length === 0 || this.closed) return;
      const min = this.o.retryMinMs ?? 500;
      this.schedule(this.attempt > 0 ? backoffMs(this.attempt - 1, min, Math.max(min, this.o.retryMaxMs ?? 30_000)) : this.flushIntervalMs);
    };
    p.then(settle, settle);
    return p;
  }

  private lose(n: number, why: string): void {
    if (n <= 0) return;
    this.counts.lost += n;
    const first = this.unreportedLost === 0;
    this.unreportedLost += n;
    if (first) this.o.log.error({ lost: n, totalLost: this.counts.lost }, `audit events lost: ${why}`);
  }

  private reportLost(): void {
    this.o.log.error({ lost: this.unreportedLost, totalLost: this.counts.lost }, `${this.unreportedLost} audit event(s) were lost in all before this point`);
    this.unreportedLost = 0;
  }
}

/**
 * A UUID version 7 (RFC 9562) made at `nowMs`: 48 bits of ms since the epoch, then 74 random bits,
 * so audit event ids sort by the time they were recorded (as text too: lowercase hex, fixed width)
 * and two recorders in one ms do not collide. Rows written before these ids have version 4 ones.
 */
export function uuidV7(nowMs: number, random: Buffer = randomBytes(10)): string {
  const ms = BigInt(Math.max(0, Math.min(Math.floor(nowMs), 2 ** 48 - 1)));
  const b = Buffer.alloc(16);
  b.writeUIntBE(Number(ms), 0, 6);
  random.copy(b, 6, 0, 10);
  b[6] = 0x70 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** An event as a row: texts cut to their column's length and made valid UTF-16, details as JSON. */
export function auditRow(e: AuditEvent, eventId: string, nowMs: number): AuditRow {
  return {
    event_id: eventId,
    at_ms: Number.isSafeInteger(e.atMs) && e.atMs >= 0 ? e.atMs : nowMs,
    actor: text(e.actor, MAX_CHARS.actor),
    actor_role: text(e.actorRole, MAX_CHARS.actorRole),
    source: text(e.source, MAX_CHARS.source),
    action: text(e.action, MAX_CHARS.action),
    target: text(e.target, MAX_CHARS.target),
    outcome: text(e.outcome, MAX_CHARS.outcome),
    details: detailsJson(e.details),
  };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function text(v: unknown, max: number): string {
  const s = typeof v === "string" ? v : v === undefined || v === null ? "" : String(v);
  return (s.length > max ? s.slice(0, max) : s).replace(LONE_SURROGATE, "\uFFFD");
}

/** Details as a JSON object: bigints as strings; unserialisable or too long becomes a stub saying so. */
export function detailsJson(d: unknown): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(d ?? {}, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  } catch (e) {
    return JSON.stringify({ unserializable: errorMessage(e).slice(0, 200) });
  }
  if (s === undefined || !s.startsWith("{")) return JSON.stringify({ value: s ?? null });
  if (s.length > MAX_DETAILS_CHARS) return JSON.stringify({ truncated: true, chars: s.length, head: text(s.slice(0, 1024), 1024) });
  return s.replace(LONE_SURROGATE, "\uFFFD");
}
