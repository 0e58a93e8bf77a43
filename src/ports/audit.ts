/**
 * The audit log (docs/adr/0020-audit-log.md): who changed what, when and from where. Written for
 * every configuration change, admin operation, alert command, device registry change and device
 * command; stored in ClickHouse table `audit_log`.
 */
export interface AuditEvent {
  /**
   * Unique and stable: assigned by the audit log when the event is recorded (a UUID, version 7 =
   * time-ordered since ids are returned, version 4 in older rows). Present on events read back;
   * a recorder leaves it out (one given is ignored).
   */
  readonly id?: string;
  readonly atMs: number;
  /** The caller's token name ("anonymous" when no tokens are configured, "cli" for local commands). */
  readonly actor: string;
  /** viewer | operator | admin ("" when unknown). */
  readonly actorRole: string;
  /** Peer address ("" when local). */
  readonly source: string;
  /** "<package.Service>/<Method>" for RPCs, "cli/<command>" for local commands. */
  readonly action: string;
  /** "device/<id>", "config/<path>", "alert/<id>", "node/<id>", "silence/<id>", ... */
  readonly target: string;
  /** "ok" or an error code. */
  readonly outcome: string;
  /** Details (secrets redacted before they get here). */
  readonly details: Readonly<Record<string, unknown>>;
}

/** Where audit events go. `record` never throws: a failed write is logged and counted. */
export interface AuditLog {
  record(event: AuditEvent): Promise<void>;
}

/** Filter of {@link AuditReader.list}. */
export interface AuditQuery {
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly actor?: string;
  readonly actionPrefix?: string;
  readonly targetPrefix?: string;
  readonly limit: number;
  /** Keyset cursor: events strictly older than this (atMs, then a tiebreak) — opaque to callers. */
  readonly after?: string;
}

export interface AuditReader {
  list(q: AuditQuery): Promise<{ readonly events: AuditEvent[]; readonly next: string | undefined }>;
}
