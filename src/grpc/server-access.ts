import * as grpc from "@grpc/grpc-js";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { isAudited, OPEN_SERVICES, type AccessCheck, type Caller } from "../access/index.js";
import { systemClock } from "../base/clock.js";
import type { AuditLog } from "../ports/audit.js";
import { checkCall } from "./access.js";
import { auditEventOf } from "./audit.js";
import { auditRecorderOf } from "./audit-recorder.js";

/** What {@link accessServerInterceptor} checks and records. */
export interface ServerAccessOptions {
  /** Bearer tokens and roles (src/access). Absent: no check. */
  readonly access?: AccessCheck;
  /** Where calls of audited methods are recorded. Absent: nothing is. */
  readonly audit?: AuditLog;
  /** The services on the server (their method descriptors give the audit its request schema). */
  readonly services: readonly DescService[];
}

/**
 * A grpc-js server interceptor (`createGrpcServer(options, [...])`) applying the access
 * check of every Shoal port to a server whose handlers are plain grpc-js ones (the model
 * gateway's, with hand-written codecs on its hot methods): the `authorization` metadata is checked
 * when it arrives, before the request is even parsed — UNAUTHENTICATED / PERMISSION_DENIED as on
 * the other ports (src/grpc/access.ts). Health and reflection stay open (OPEN_SERVICES of
 * src/access/roles.ts); any other method not in the access table needs admin. With `audit`, calls
 * of audited methods by an authenticated caller are recorded when their status is sent
 * (src/grpc/audit.ts, the same event as everywhere).
 */
export function accessServerInterceptor(o: ServerAccessOptions): grpc.ServerInterceptor {
  const methods = new Map<string, DescMethod>();
  for (const s of o.services) for (const m of s.methods) methods.set(`/${s.typeName}/${m.name}`, m);
  const open = new Set(OPEN_SERVICES);
  return (descriptor, call) => {
    const [service = "", name = ""] = descriptor.path.replace(/^\//, "").split("/");
    if (open.has(service) || (o.access === undefined && o.audit === undefined)) return new grpc.ServerInterceptingCall(call);
    const method = methods.get(descriptor.path);
    const audited = o.audit !== undefined && method !== undefined && isAudited(service, name);
    let caller: Caller | undefined;
    let request: unknown;
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (md, nextMd) => {
            if (o.access !== undefined) {
              const auth = md.get("authorization")[0];
              const c = checkCall(o.access, typeof auth === "string" ? auth : undefined, service, name);
              caller = c.caller;
              const refusal = c.refusal;
              if (refusal !== undefined) {
                // Ends the call before its request is read; a denied caller's attempt is recorded (without the request).
                const refuse = () => call.sendStatus({ code: refusal.code as number as grpc.status, details: refusal.rawMessage, metadata: new grpc.Metadata() });
                if (!audited || caller === undefined) return refuse();
                void auditRecorderOf(o.audit!)
                  .submit(auditEventOf({ service, method: method!, request: undefined, caller, source: call.getPeer(), error: refusal, atMs: systemClock.now() }))
                  .then(refuse);
                return;
              }
            }
            nextMd(md);
          },
          onReceiveMessage: (message, nextMsg) => {
            request ??= message;
            nextMsg(message);
          },
        }),
      sendStatus: (status, nextStatus) => {
        if (!audited || (o.access !== undefined && caller === undefined)) return nextStatus(status);
        const error = status.code === grpc.status.OK ? undefined : new ConnectError(status.details ?? "", (status.code ?? Code.Unknown) as number as Code);
        void auditRecorderOf(o.audit!)
          .submit(auditEventOf({ service, method: method!, request, caller, source: call.getPeer(), error, atMs: systemClock.now() }))
          .then(() => nextStatus(status));
      },
    });
  };
}
