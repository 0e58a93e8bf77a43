import type { AuditEvent, AuditLog } from "../ports/audit.js";

/** Most audit writes in flight per audit log before calls wait for one to finish. */
export const AUDIT_MAX_IN_FLIGHT = 256;

/**
 * Writes audit events without holding up the answers: `submit` starts `log.record` and resolves at
 * once while fewer than `maxInFlight` writes are in flight; beyond that it resolves when a write
 * finishes (the calls of the audited methods wait — backpressure, never a dropped event — so a
 * stalled audit store slows changes down instead of growing memory or losing the trail). The
 * port's `record` never throws; a rejection anyway is swallowed here (the adapter logs and counts).
 */
export class AuditRecorder {
  private inFlight = 0;
  private readonly waiting: Array<{ readonly event: AuditEvent; readonly started: () => void }> = [];

  constructor(
    private readonly log: AuditLog,
    private readonly maxInFlight: number = AUDIT_MAX_IN_FLIGHT,
  ) {}

  /** Start recording `event`; resolves when it is started (not written). Never rejects. */
  submit(event: AuditEvent): Promise<void> {
    if (this.inFlight < this.maxInFlight) {
      this.start(event);
      return Promise.resolve();
    }
    return new Promise<void>((started) => this.waiting.push({ event, started }));
  }

  /** Writes in flight now. */
  get pending(): number {
    return this.inFlight;
  }

  private start(event: AuditEvent): void {
    this.inFlight++;
    let p: Promise<void>;
    try {
      p = this.log.record(event);
    } catch {
      p = Promise.resolve();
    }
    void p.catch(() => {}).finally(() => this.done());
  }

  private done(): void {
    this.inFlight--;
    const next = this.waiting.shift();
    if (next !== undefined) {
      this.start(next.event);
      next.started();
    }
  }
}

const recorders = new WeakMap<AuditLog, AuditRecorder>();

/** The one recorder of `log` (every server given the same log shares its in-flight bound). */
export function auditRecorderOf(log: AuditLog): AuditRecorder {
  let r = recorders.get(log);
  if (r === undefined) {
    r = new AuditRecorder(log);
    recorders.set(log, r);
  }
  return r;
}
