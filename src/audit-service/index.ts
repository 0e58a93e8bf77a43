// shoal.v1.AuditService: the audit log (who changed what, when, from where), newest first, filtered and paged.
export { auditPageToken, createAuditService, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "./audit-service.js";
export type { AuditServiceDeps } from "./audit-service.js";
export { addAuditService, AUDIT_SERVICE_NAME, AUDIT_SERVICE_FILES } from "./server.js";
