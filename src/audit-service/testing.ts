import type { AuditEvent, AuditLog, AuditQuery, AuditReader } from "../ports/audit.js";
import { ShoalError } from "../base/errors.js";

/**
 * An in-memory audit log for unit tests (of the AuditService, the CLI, the hooks that record):
 * the ClickHouse log's semantics — newest first by (atMs, then insertion), time range [fromMs,
 * toMs), exact actor, action and target prefixes, keyset cursors; a cursor it did not give is
 * ShoalError invalid_input; ids `mem-<n>` given when recorded. `queries` keeps what it was asked.
 */
export class MemoryAuditLog implements AuditLog, AuditReader {
  readonly events: Array<AuditEvent & { readonly seq: number }> = [];
  readonly queries: AuditQuery[] = [];
  private seq = 0;

  async record(event: AuditEvent): Promise<void> {
    const seq = ++this.seq;
    this.events.push({ ...event, id: `mem-${seq}`, seq });
  }

  async list(q: AuditQuery): Promise<{ events: AuditEvent[]; next: string | undefined }> {
    this.queries.push(q);
    const after = q.after === undefined ? undefined : cursorOf(q.after);
    const got = this.events
      .filter((e) => (q.fromMs === undefined || e.atMs >= q.fromMs) && (q.toMs === undefined || e.atMs < q.toMs))
      .filter((e) => (!q.actor || e.actor === q.actor) && e.action.startsWith(q.actionPrefix ?? "") && e.target.startsWith(q.targetPrefix ?? ""))
      .sort((a, b) => b.atMs - a.atMs || b.seq - a.seq)
      .filter((e) => after === undefined || e.atMs < after.atMs || (e.atMs === after.atMs && e.seq < after.seq));
    const page = got.slice(0, q.limit);
    const last = page.at(-1);
    return { events: page.map(({ seq: _seq, ...e }) => e), next: got.length > q.limit && last ? `${last.atMs}.${last.seq}` : undefined };
  }
}

function cursorOf(c: string): { atMs: number; seq: number } {
  const m = /^(\d+)\.(\d+)$/.exec(c);
  if (m === null) throw new ShoalError("not an audit log cursor", { code: "invalid_input" });
  return { atMs: Number(m[1]), seq: Number(m[2]) };
}
