import { Code, ConnectError, type Interceptor, type StreamRequest, type UnaryRequest } from "@connectrpc/connect";
import { CALLER, isAudited, isRefusal, permit, type AccessCheck, type AccessRefusal, type Caller } from "../access/index.js";
import { systemClock } from "../base/clock.js";
import type { AuditLog } from "../ports/audit.js";
import { auditEventOf, PEER } from "./audit.js";
import { auditRecorderOf } from "./audit-recorder.js";

/** Who a call is from when no access check runs (no tokens configured): everyone is an admin. */
export const ANONYMOUS: Caller = { name: "anonymous", role: "admin" };

/** The error a refused call ends with: UNAUTHENTICATED (no or an unknown token) or PERMISSION_DENIED (too small a role). */
export function refusalError(r: AccessRefusal): ConnectError {
  return new ConnectError(r.message, r.kind === "unauthenticated" ? Code.Unauthenticated : Code.PermissionDenied);
}

/**
 * The outcome of checking a call: the authenticated caller (also when its role is too small, for
 * the audit log) and, when refused, the error it ends with.
 */
export interface CallCheck {
  readonly caller: Caller | undefined;
  readonly refusal: ConnectError | undefined;
}

/**
 * Checks a call of `service`/`method` (fully-qualified service name, method name as in the proto)
 * sending `authorization` against `access`: the one check of every door (the gRPC ports through
 * src/grpc/connect-on-grpc.ts and src/grpc/server-access.ts, the HTTP port through
 * {@link accessInterceptor}).
 */
export function checkCall(access: AccessCheck, authorization: string | undefined, service: string, method: string): CallCheck {
  const who = access.authenticate(authorization);
  if (isRefusal(who)) return { caller: undefined, refusal: refusalError(who) };
  const denied = permit(who, service, method);
  return { caller: who, refusal: denied === undefined ? undefined : refusalError(denied) };
}

/** The caller of `service`/`method` sending `authorization`, or the refusal as a ConnectError (thrown). */
export function authorizeCall(access: AccessCheck, authorization: string | undefined, service: string, method: string): Caller {
  const c = checkCall(access, authorization, service, method);
  if (c.refusal !== undefined) throw c.refusal;
  return c.caller!;
}

/**
 * Connect interceptor checking every call against `access` before anything else runs; the caller
 * is put into the handler's context values under {@link CALLER} (`ctx.values.get(CALLER)`). With
 * `audit`, every call of an audited method (src/access/roles.ts) by an authenticated caller —
 * allowed or denied — is recorded once it ends (unary: when answered; server stream: when it
 * ends), through the bounded recorder (src/grpc/audit-recorder.ts). Calls without a valid token
 * are not recorded: anyone can make them, and they would flood the log. Without `access` (no
 * check on the port), only the audit runs, with no caller.
 */
export function accessInterceptor(access: AccessCheck | undefined, audit?: AuditLog): Interceptor {
  return (next) => async (req) => {
    const service = req.service.typeName;
    let caller: Caller | undefined;
    if (access !== undefined) {
      const c = checkCall(access, req.header.get("authorization") ?? undefined, service, req.method.name);
      caller = c.caller;
      if (c.refusal !== undefined) {
        if (audit !== undefined && caller !== undefined && isAudited(service, req.method.name)) await recordWeb(audit, req, caller, req.stream ? undefined : req.message, c.refusal);
        throw c.refusal;
      }
      req.contextValues.set(CALLER, caller);
    }
    if (audit === undefined || !isAudited(service, req.method.name)) return next(req);
    if (!req.stream) {
      let res;
      try {
        res = await next(req);
      } catch (e) {
        await recordWeb(audit, req, caller, req.message, e);
        throw e;
      }
      await recordWeb(audit, req, caller, req.message, undefined);
      return res;
    }
    // A server stream: its one request message is read by the handler; keep it on the way.
    let request: unknown;
    const tapped: StreamRequest = { ...req, message: tap(req.message, (m) => (request ??= m)) };
    let res;
    try {
      res = await next(tapped);
    } catch (e) {
      await recordWeb(audit, req, caller, request, e);
      throw e;
    }
    if (!res.stream) {
      await recordWeb(audit, req, caller, request, undefined);
      return res;
    }
    const inner = res.message;
    return {
      ...res,
      message: (async function* () {
        let error: unknown;
        try {
          yield* inner;
        } catch (e) {
          error = e;
          throw e;
        } finally {
          await recordWeb(audit, req, caller, request, error);
        }
      })(),
    };
  };
}

async function* tap<T>(source: AsyncIterable<T>, seen: (m: T) => void): AsyncIterable<T> {
  for await (const m of source) {
    seen(m);
    yield m;
  }
}

function recordWeb(audit: AuditLog, req: UnaryRequest | StreamRequest, caller: Caller | undefined, request: unknown, error: unknown): Promise<void> {
  return auditRecorderOf(audit).submit(
    auditEventOf({ service: req.service.typeName, method: req.method, request, caller, source: req.contextValues.get(PEER), error, atMs: systemClock.now() }),
  );
}
