import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { AuditReader } from "../ports/audit.js";
import type { AuditService } from "../gen/shoal/v1/audit_pb.js";
import { CALLER, roleAllows } from "../access/index.js";
import { ShoalError } from "../base/errors.js";
import { guard } from "../grpc/guard.js";
import { auditEventOf } from "./convert.js";
import * as v from "./validate.js";

export interface AuditServiceDeps {
  readonly reader: AuditReader;
  /** Where unexpected errors go (callers see INTERNAL without them). */
  readonly onInternalError?: (method: string, err: unknown) => void;
}

/** Default and largest page. */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
/** Longest page token accepted (the reader's cursor is far shorter). */
const MAX_TOKEN_CHARS = 512;
const TOKEN_TAG = "u1:";

/**
 * shoal.v1.AuditService as a Connect implementation (served over gRPC by src/grpc/connect-on-grpc.ts,
 * see ./server.ts): the audit log newest first, filtered, one page at a time. Arguments are
 * validated first (./validate.ts); storage failures are UNAVAILABLE (retry), anything unexpected
 * INTERNAL without internals. Reading needs the admin role: the access check of the server enforces
 * it (src/access/roles.ts), and the service refuses a non-admin caller itself too, so a missing
 * entry there cannot open the log to viewers.
 */
export function createAuditService(d: AuditServiceDeps): ServiceImpl<typeof AuditService> {
  const guarded = guard(d.onInternalError ?? (() => {}));
  return {
    listAuditEvents: guarded(async (req, ctx) => {
      mustBeAdmin(ctx);
      const range = v.timeRange(req.fromMs, req.toMs);
      const actor = v.filterText(req.actor, "actor");
      const actionPrefix = v.filterText(req.actionPrefix, "action_prefix");
      const targetPrefix = v.filterText(req.targetPrefix, "target_prefix");
      const limit = v.limit(req.pageSize, "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
      const after = cursorOf(req.pageToken);
      let page;
      try {
        page = await d.reader.list({ ...range, actor, actionPrefix, targetPrefix, limit, ...(after !== undefined ? { after } : {}) });
      } catch (e) {
        if (after !== undefined && e instanceof ShoalError && e.code === "invalid_input") throw badToken();
        throw e;
      }
      return { events: page.events.map(auditEventOf), nextPageToken: page.next === undefined ? "" : auditPageToken(page.next) };
    }),
  };
}

function mustBeAdmin(ctx: HandlerContext): void {
  const caller = ctx.values.get(CALLER);
  if (caller !== undefined && !roleAllows(caller.role, "admin")) throw new ConnectError(`the audit log needs the admin role (${caller.name} is ${caller.role})`, Code.PermissionDenied);
}

/** A page token: the reader's cursor, tagged and base64url (opaque to callers). */
export function auditPageToken(cursor: string): string {
  return Buffer.from(`${TOKEN_TAG}${cursor}`).toString("base64url");
}

function cursorOf(token: string): string | undefined {
  if (token === "") return undefined;
  if (token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) throw badToken();
  const text = Buffer.from(token, "base64url").toString();
  if (!text.startsWith(TOKEN_TAG) || text.length === TOKEN_TAG.length) throw badToken();
  return text.slice(TOKEN_TAG.length);
}

const badToken = () => v.invalid("page_token", "not a token this service gave");
