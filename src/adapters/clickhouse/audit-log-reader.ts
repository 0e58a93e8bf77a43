import type { AuditEvent, AuditQuery, AuditReader } from "../../ports/audit.js";
import { ShoalError } from "../../base/errors.js";
import { createBoundedQueries, type ClickHouseOptions } from "./client.js";
import { sqlMs, sqlString } from "./sql.js";

/** Most events one list may ask for. */
export const MAX_AUDIT_LIMIT = 10_000;

type AuditSql = {
  event_id: string;
  at_ms: string | number;
  actor: string;
  actor_role: string;
  source: string;
  action: string;
  target: string;
  outcome: string;
  details: string;
};

/** Seconds of a ms time, for the DateTime partition column `at` (lets ClickHouse skip partitions). */
const sec = (ms: number) => sqlMs(Math.floor(ms / 1000));
const EVENT_ID_RE = /^[0-9A-Za-z-]{1,64}$/;

/** A keyset cursor: the last event's (at_ms, event_id), as text ("<at_ms>.<event_id>"). */
export function auditCursor(atMs: number, eventId: string): string {
  return `${atMs}.${eventId}`;
}

/** The (at_ms, event_id) of a cursor; ShoalError code invalid_input when it is not one. */
export function parseAuditCursor(c: string): { atMs: number; eventId: string } {
  const m = /^(\d{1,16})\.(.+)$/s.exec(c);
  const atMs = Number(m?.[1]);
  if (m === null || !Number.isSafeInteger(atMs) || !EVENT_ID_RE.test(m[2]!)) throw new ShoalError("not an audit log cursor", { code: "invalid_input" });
  return { atMs, eventId: m[2]! };
}

/** Rows whose text starts with `prefix` (bytes compared: 18.16 has no startsWith). */
const startsWith = (column: string, prefix: string) => `substring(${column}, 1, ${Buffer.byteLength(prefix, "utf8")}) = ${sqlString(prefix)}`;

/**
 * Reads `audit_log` newest first: filters on time [fromMs, toMs), exact actor, action and target
 * prefixes; keyset pages on (at_ms, event_id) descending, so pages neither repeat nor skip an
 * event however many share a millisecond. FINAL drops the copies a retried insert may have left
 * (identical rows: no filter can see a stale version). Every value reaches SQL through
 * sqlString/sqlMs (18.16 has no query parameters); no alias shadows a column.
 */
export function createClickHouseAuditReader(o: ClickHouseOptions, opts: { maxExecutionMs: number }): AuditReader & { close(): Promise<void> } {
  const db = createBoundedQueries(o, opts.maxExecutionMs, "audit log query");
  return {
    async list(q: AuditQuery) {
      if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > MAX_AUDIT_LIMIT) throw new RangeError(`limit must be 1..${MAX_AUDIT_LIMIT}, got ${q.limit}`);
      const where = ["1 = 1"];
      if (q.fromMs !== undefined) where.push(`at >= toDateTime(${sec(q.fromMs)})`, `at_ms >= ${sqlMs(q.fromMs)}`);
      if (q.toMs !== undefined) where.push(`at <= toDateTime(${sec(q.toMs)})`, `at_ms < ${sqlMs(q.toMs)}`);
      if (q.actor !== undefined && q.actor !== "") where.push(`actor = ${sqlString(q.actor)}`);
      if (q.actionPrefix !== undefined && q.actionPrefix !== "") where.push(startsWith("action", q.actionPrefix));
      if (q.targetPrefix !== undefined && q.targetPrefix !== "") where.push(startsWith("target", q.targetPrefix));
      if (q.after !== undefined && q.after !== "") {
        const a = parseAuditCursor(q.after);
        const ms = sqlMs(a.atMs);
        where.push(`at <= toDateTime(${sec(a.atMs)})`, `(at_ms < ${ms} OR (at_ms = ${ms} AND event_id < ${sqlString(a.eventId)}))`);
      }
      const got = await db.rows<AuditSql>(
        `SELECT event_id, at_ms, actor, actor_role, source, action, target, outcome, details
         FROM audit_log FINAL
         WHERE ${where.join(" AND ")}
         ORDER BY at_ms DESC, event_id DESC
         LIMIT ${sqlMs(q.limit + 1)}`,
      );
      const page = got.slice(0, q.limit);
      const last = page[page.length - 1];
      return { events: page.map(eventOf), next: got.length > q.limit && last !== undefined ? auditCursor(Number(last.at_ms), last.event_id) : undefined };
    },
    close: () => db.close(),
  };
}

function eventOf(r: AuditSql): AuditEvent {
  return {
    id: r.event_id,
    atMs: Number(r.at_ms),
    actor: r.actor,
    actorRole: r.actor_role,
    source: r.source,
    action: r.action,
    target: r.target,
    outcome: r.outcome,
    details: detailsOf(r.details),
  };
}

/** Stored details back as an object ({ raw } when a row holds something that is not a JSON object). */
function detailsOf(s: string): Readonly<Record<string, unknown>> {
  try {
    const v: unknown = JSON.parse(s);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // not JSON: returned raw below
  }
  return { raw: s };
}
