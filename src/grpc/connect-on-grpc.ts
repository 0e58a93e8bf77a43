import { once } from "node:events";
import * as grpc from "@grpc/grpc-js";
import type { CallMetrics } from "./call-metrics.js";
import { create, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, createHandlerContext, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { CALLER, isAudited, type AccessCheck, type Caller } from "../access/index.js";
import { systemClock } from "../base/clock.js";
import { errorMessage } from "../base/errors.js";
import type { AuditLog } from "../ports/audit.js";
import { checkCall, type CallCheck } from "./access.js";
import { auditEventOf } from "./audit.js";
import { auditRecorderOf } from "./audit-recorder.js";

/** Limits every call of a service gets (the same whatever protocol it arrives by). */
export interface CallPolicy {
  /** Longest a unary call may run, ms (the client's deadline when sooner): DEADLINE_EXCEEDED after. */
  readonly timeoutMs: number;
  /** Most unary calls in flight per caller: more are RESOURCE_EXHAUSTED at once. */
  readonly maxConcurrentPerCaller: number;
  /** Most open server streams per caller. */
  readonly maxStreamsPerCaller: number;
  /**
   * Who may call what (bearer tokens and roles, src/access), checked before anything else:
   * UNAUTHENTICATED or PERMISSION_DENIED when refused; the caller is in the handler's context
   * values (`ctx.values.get(CALLER)`). Absent: no check, CALLER is not set.
   */
  readonly access?: AccessCheck;
  /**
   * Where calls of audited methods (every method that changes something, src/access/roles.ts) are
   * recorded once they end, with caller, peer, target, outcome and the request (secrets
   * redacted; src/grpc/audit.ts). Refused calls of an authenticated caller are recorded too, calls
   * without a valid token are not. Recording does not hold up the answer (bounded in flight:
   * src/grpc/audit-recorder.ts). Absent: nothing is recorded.
   */
  readonly audit?: AuditLog;
  /** RED metrics of every call of the server (src/grpc/call-metrics.ts). Absent: none. */
  readonly metrics?: CallMetrics;
}

/** Who a call is from, for the per-caller caps: the `shoal-caller` header, else the peer's address. */
export function callerOf(md: grpc.Metadata, peer: string): string {
  const named = md.get("shoal-caller")[0];
  if (typeof named === "string" && named !== "") return `name:${named.slice(0, 64)}`;
  // "ipv4:127.0.0.1:53412" -> "ipv4:127.0.0.1": one caller per host, not per connection.
  return peer.replace(/:\d+$/, "");
}

/** Counts per caller, refusing beyond `max`. */
export class CallerSlots {
  private readonly held = new Map<string, number>();
  constructor(private readonly max: number) {}
  tryTake(caller: string): boolean {
    const n = this.held.get(caller) ?? 0;
    if (n >= this.max) return false;
    this.held.set(caller, n + 1);
    return true;
  }
  give(caller: string): void {
    const n = (this.held.get(caller) ?? 1) - 1;
    if (n <= 0) this.held.delete(caller);
    else this.held.set(caller, n);
  }
}

/**
 * grpc-js handlers for a Connect service implementation (`ServiceImpl`), so one implementation is
 * served by a grpc-js server (with health and reflection beside it) and, unchanged, by Connect's
 * node adapter for gRPC-web and Connect clients. Unary and server-streaming methods. Errors: a
 * `ConnectError`'s code is the gRPC status (Connect's codes are gRPC's); anything else is INTERNAL.
 * With `policy.access`, each call's `authorization` metadata is checked first; with
 * `policy.audit`, calls of audited methods are recorded when they end.
 */
export function grpcHandlersOf<S extends DescService>(service: S, impl: ServiceImpl<S>, policy: CallPolicy): grpc.UntypedServiceImplementation {
  const unarySlots = new CallerSlots(policy.maxConcurrentPerCaller);
  const streamSlots = new CallerSlots(policy.maxStreamsPerCaller);
  const out: grpc.UntypedServiceImplementation = {};
  const fns = impl as unknown as Record<string, (req: unknown, ctx: HandlerContext) => unknown>;
  for (const m of service.methods) {
    const fn = fns[m.localName];
    if (fn === undefined) continue;
    if (m.methodKind === "unary") {
      const audited = policy.audit !== undefined && isAudited(service.typeName, m.name);
      out[m.name] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const check = checkOn(policy.access, call.metadata, service, m);
        const who = check.caller;
        // Answer after starting the audit write (it resolves at once unless too many are in flight).
        const finish = (error: unknown, res?: unknown) => {
          const answer = () => (error === undefined ? callback(null, res) : callback(serviceError(error)));
          if (!audited || (policy.access !== undefined && who === undefined)) return answer();
          void auditRecorderOf(policy.audit!)
            .submit(auditEventOf({ service: service.typeName, method: m, request: call.request, caller: who, source: call.getPeer(), error, atMs: systemClock.now() }))
            .then(answer);
        };
        if (check.refusal !== undefined) {
          finish(check.refusal);
          return;
        }
        const caller = callerOf(call.metadata, call.getPeer());
        if (!unarySlots.tryTake(caller)) {
          finish(new ConnectError(`more than ${policy.maxConcurrentPerCaller} calls in flight from ${caller}`, Code.ResourceExhausted));
          return;
        }
        const timeoutMs = Math.max(0, Math.min(policy.timeoutMs, msUntil(call.getDeadline())));
        const ctx = contextOf(service, m, call.metadata, timeoutMs, who);
        const onCancel = () => ctx.abort(new ConnectError("cancelled by the client", Code.Canceled));
        call.on("cancelled", onCancel);
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const e = new ConnectError(`${m.name} took longer than ${timeoutMs} ms`, Code.DeadlineExceeded);
            ctx.abort(e);
            reject(e);
          }, timeoutMs);
        });
        Promise.race([Promise.resolve().then(() => fn(call.request, ctx)), deadline])
          .then((res) => create(m.output as DescMessage, res as never))
          .then(
            (res) => finish(undefined, res),
            (e: unknown) => finish(e),
          )
          .finally(() => {
            clearTimeout(timer);
            call.off("cancelled", onCancel);
            unarySlots.give(caller);
          });
      };
    } else if (m.methodKind === "server_streaming") {
      const audited = policy.audit !== undefined && isAudited(service.typeName, m.name);
      out[m.name] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
        const check = checkOn(policy.access, call.metadata, service, m);
        const who = check.caller;
        const record = (error: unknown) =>
          audited && (policy.access === undefined || who !== undefined)
            ? auditRecorderOf(policy.audit!).submit(auditEventOf({ service: service.typeName, method: m, request: call.request, caller: who, source: call.getPeer(), error, atMs: systemClock.now() }))
            : Promise.resolve();
        if (check.refusal !== undefined) {
          void record(check.refusal).then(() => call.emit("error", serviceError(check.refusal)));
          return;
        }
        const caller = callerOf(call.metadata, call.getPeer());
        if (!streamSlots.tryTake(caller)) {
          const e = new ConnectError(`more than ${policy.maxStreamsPerCaller} open streams from ${caller}`, Code.ResourceExhausted);
          void record(e).then(() => call.emit("error", serviceError(e)));
          return;
        }
        const ctx = contextOf(service, m, call.metadata, undefined, who);
        const onCancel = () => ctx.abort(new ConnectError("cancelled by the client", Code.Canceled));
        call.on("cancelled", onCancel);
        void (async () => {
          try {
            for await (const msg of fn(call.request, ctx) as AsyncIterable<unknown>) {
              if (ctx.signal.aborted) break;
              if (!call.write(create(m.output as DescMessage, msg as never))) await Promise.race([once(call, "drain"), once(ctx.signal, "abort")]);
            }
            await record(ctx.signal.aborted ? ConnectError.from(ctx.signal.reason, Code.Canceled) : undefined);
            if (!ctx.signal.aborted) call.end();
          } catch (e) {
            await record(e);
            if (!ctx.signal.aborted || !(ConnectError.from(e).code === Code.Canceled)) call.emit("error", serviceError(e));
          } finally {
            call.off("cancelled", onCancel);
            streamSlots.give(caller);
          }
        })();
      };
    }
  }
  return out;
}

/** The caller and the refusal of a call by `access` (neither without a check). */
function checkOn(access: AccessCheck | undefined, md: grpc.Metadata, service: DescService, method: DescMethod): CallCheck {
  if (access === undefined) return { caller: undefined, refusal: undefined };
  const auth = md.get("authorization")[0];
  return checkCall(access, typeof auth === "string" ? auth : undefined, service.typeName, method.name);
}

function contextOf(service: DescService, method: DescMethod, md: grpc.Metadata, timeoutMs: number | undefined, caller: Caller | undefined) {
  const requestHeader = new Headers();
  for (const [k, v] of Object.entries(md.getMap())) if (typeof v === "string") requestHeader.set(k, v);
  const contextValues = createContextValues();
  if (caller !== undefined) contextValues.set(CALLER, caller);
  return createHandlerContext({
    contextValues,
    service,
    method,
    protocolName: "grpc",
    requestMethod: "POST",
    url: `/${service.typeName}/${method.name}`,
    requestHeader,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
}

/** ms until a grpc-js deadline (Infinity when none). */
function msUntil(deadline: grpc.Deadline): number {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) ? at - Date.now() : Infinity;
}

/** A grpc-js error status for anything a handler threw. */
export function serviceError(e: unknown): grpc.ServiceError {
  const ce = e instanceof ConnectError ? e : new ConnectError(errorMessage(e), Code.Internal);
  const err = new Error(ce.rawMessage) as grpc.ServiceError;
  err.code = ce.code as number as grpc.status;
  err.details = ce.rawMessage;
  err.metadata = new grpc.Metadata();
  return err;
}
