import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AuditEvent } from "../ports/audit.js";
import type { AuditEventSchema } from "../gen/shoal/v1/audit_pb.js";

/** An audit event as the AuditService's message (details as a JSON object text). */
export function auditEventOf(e: AuditEvent): MessageInitShape<typeof AuditEventSchema> {
  return {
    id: e.id ?? "",
    atMs: BigInt(e.atMs),
    actor: e.actor,
    actorRole: e.actorRole,
    source: e.source,
    action: e.action,
    target: e.target,
    outcome: e.outcome,
    detailsJson: JSON.stringify(e.details ?? {}),
  };
}
