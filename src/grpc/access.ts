import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { CALLER, isRefusal, type AccessCheck, type AccessRefusal, type Caller } from "../access/index.js";

/** Who a call is from when no access check runs (no tokens configured): everyone is an admin. */
export const ANONYMOUS: Caller = { name: "anonymous", role: "admin" };

/** The error a refused call ends with: UNAUTHENTICATED (no or an unknown token) or PERMISSION_DENIED (too small a role). */
export function refusalError(r: AccessRefusal): ConnectError {
  return new ConnectError(r.message, r.kind === "unauthenticated" ? Code.Unauthenticated : Code.PermissionDenied);
}

/**
 * The caller of `service`/`method` (fully-qualified service name, method name as in the proto)
 * sending `authorization`, or the refusal as a ConnectError (thrown). The one check of every door:
 * the gRPC ports (src/grpc/connect-on-grpc.ts) and the HTTP port ({@link accessInterceptor}).
 */
export function authorizeCall(access: AccessCheck, authorization: string | undefined, service: string, method: string): Caller {
  const who = access.authorize(authorization, service, method);
  if (isRefusal(who)) throw refusalError(who);
  return who;
}

/**
 * Connect interceptor checking every call against `access` before anything else runs; the caller
 * is put into the handler's context values under {@link CALLER} (`ctx.values.get(CALLER)`).
 */
export function accessInterceptor(access: AccessCheck): Interceptor {
  return (next) => async (req) => {
    const caller = authorizeCall(access, req.header.get("authorization") ?? undefined, req.service.typeName, req.method.name);
    req.contextValues.set(CALLER, caller);
    return next(req);
  };
}
