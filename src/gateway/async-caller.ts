import type { Clock } from "../ports/clock.js";
import type {
  DegradedReason,
  EmbedRequest,
  EmbedResult,
  ExplainRequest,
  ExplainResult,
  GatewayOp,
  ModelGateway,
  ScoreRequest,
  ScoreResult,
  SummarizeRequest,
  SummarizeResult,
} from "../ports/gateway.js";
import { systemClock } from "../base/clock.js";
import { gatewayConfigSchema } from "../config/schema-gateway.js";
import { InvalidRequestError, toGatewayError } from "./errors.js";
import type { CallResult, OutCall } from "../ports/actor-host.js";

/** Service name actors use in `ctx.call(GATEWAY_SERVICE, op, req, onReply, onError)`. */
export const GATEWAY_SERVICE = "gateway";
const OPS = new Set<string>(["score", "explain", "embed", "summarize"]);
import { createGateway } from "./gateway.js";
import type { GatewayMetrics } from "./metrics.js";

/** One gateway call, tagged by operation. */
export type GatewayCall = (
  | { readonly op: "score"; readonly req: ScoreRequest }
  | { readonly op: "explain"; readonly req: ExplainRequest }
  | { readonly op: "embed"; readonly req: EmbedRequest }
  | { readonly op: "summarize"; readonly req: SummarizeRequest }
) & {
  /** The caller's span (`traceparent`), carried to the gateway. */
  readonly trace?: string;
};

/** The result type of a call's operation. */
export type ReplyOf<C extends GatewayCall> = C["op"] extends "score"
  ? ScoreResult
  : C["op"] extends "explain"
    ? ExplainResult
    : C["op"] extends "embed"
      ? EmbedResult
      : SummarizeResult;

/** Receives the reply (or an error for invalid requests); always called later, never inside `submit`. */
export type ReplyHandler<C extends GatewayCall> = (err: Error | undefined, res: ReplyOf<C> | undefined) => void;

export interface AsyncCallerOptions {
  /** The gateway (gRPC client of `shoal gateway`, or the in-process service in the monolith). */
  readonly gateway: ModelGateway;
  /** Where calls degrade to (overflow, gateway unreachable). Default: an in-process all-local gateway. */
  readonly fallback?: ModelGateway;
  /** Most calls in flight to `gateway`. Default 256. */
  readonly maxInFlight?: number;
  /** Most calls waiting for an in-flight slot; beyond it calls are answered by `fallback`. Default 10 000. */
  readonly maxQueue?: number;
  /** Per-call timeout, ms. Default 60 000. */
  readonly timeoutMs?: number;
  readonly clock?: Clock;
  readonly metrics?: GatewayMetrics;
}

export interface AsyncCallerStats {
  readonly inFlight: number;
  readonly queued: number;
  readonly submitted: number;
  readonly completed: number;
  /** Answered by the fallback because in-flight and queue were full. */
  readonly overflowed: number;
  /** Answered by the fallback because the gateway failed (unreachable, overloaded...). */
  readonly degraded: number;
  /** Delivered as errors (invalid requests). */
  readonly failed: number;
}

/**
 * Non-blocking gateway caller for device actors: `submit` returns immediately and the reply arrives
 * through the handler (the runtime turns it into an actor message), so a slow model never stalls
 * ingest. Bounded: at most `maxInFlight` calls in flight and `maxQueue` waiting; beyond that the
 * call is answered at once by the local fallback and counted (policy: queue bounded, then degrade
 * to local). A failing gateway also degrades to local; only invalid requests come back as errors.
 */
export class AsyncGatewayCaller {
  private readonly queue: Array<{ call: GatewayCall; done: ReplyHandler<GatewayCall> }> = [];
  private active = 0;
  private readonly s = { submitted: 0, completed: 0, overflowed: 0, degraded: 0, failed: 0 };
  private readonly idle: Array<() => void> = [];
  private readonly maxInFlight: number;
  private readonly maxQueue: number;
  private readonly fallback: ModelGateway;
  private readonly clock: Clock;

  constructor(private readonly opts: AsyncCallerOptions) {
    this.maxInFlight = opts.maxInFlight ?? 256;
    this.maxQueue = opts.maxQueue ?? 10_000;
    this.clock = opts.clock ?? systemClock;
    this.fallback = opts.fallback ?? createGateway({ config: gatewayConfigSchema.parse({}), clock: this.clock });
  }

  /** Queue a call; never blocks or throws. */
  submit<C extends GatewayCall>(call: C, done: ReplyHandler<C>): void {
    this.s.submitted++;
    const d = done as unknown as ReplyHandler<GatewayCall>;
    if (this.active < this.maxInFlight) return this.start(call, d);
    if (this.queue.length < this.maxQueue) {
      this.queue.push({ call, done: d });
      return;
    }
    this.s.overflowed++;
    this.opts.metrics?.callerOverflow.inc({ op: call.op });
    this.degrade(call, d, "overload");
  }

  /**
   * Route an actor's `ctx.call("gateway", op, req, ...)` effect: submits it and hands the outcome to
   * `resolve` (wire it to `RuntimeHost.resolveCall` and commit the returned effects). Returns false,
   * without calling `resolve`, when the call is not for service "gateway". An unknown method is
   * resolved at once (asynchronously) as an InvalidRequestError.
   */
  submitOutCall(call: OutCall, resolve: (callId: number, result: CallResult) => void): boolean {
    if (call.service !== GATEWAY_SERVICE) return false;
    const done = (err: Error | undefined, res: unknown) => resolve(call.callId, err ? { ok: false, error: err } : { ok: true, value: res });
    if (!OPS.has(call.method)) {
      queueMicrotask(() => done(new InvalidRequestError(`gateway has no method "${call.method}" (known: ${[...OPS].join(", ")})`), undefined));
      return true;
    }
    this.submit((call.trace === undefined ? { op: call.method, req: call.req } : { op: call.method, req: call.req, trace: call.trace }) as GatewayCall, done as ReplyHandler<GatewayCall>);
    return true;
  }

  /** Promise form of `submit` (still bounded and degrading; resolves with the reply). */
  call<C extends GatewayCall>(call: C): Promise<ReplyOf<C>> {
    return new Promise((resolve, reject) => this.submit(call, (err, res) => (err ? reject(err) : resolve(res!))));
  }

  stats(): AsyncCallerStats {
    return { ...this.s, inFlight: this.active, queued: this.queue.length };
  }

  /** Resolves when nothing is in flight or queued. */
  drain(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private start(call: GatewayCall, done: ReplyHandler<GatewayCall>): void {
    this.active++;
    const deadlineMs = this.clock.now() + (this.opts.timeoutMs ?? 60_000);
    invoke(this.opts.gateway, call, deadlineMs).then(
      (res) => this.finish(done, undefined, res),
      (e: unknown) => {
        const err = toGatewayError(e);
        if (err.code === "invalid_request") {
          this.s.failed++;
          this.finish(done, err, undefined);
        } else {
          this.s.degraded++;
          this.active--;
          this.degrade(call, done, err.code === "deadline_exceeded" ? "deadline" : err.code === "overloaded" ? "overload" : "upstream");
          this.next();
        }
      },
    );
  }

  private finish(done: ReplyHandler<GatewayCall>, err: Error | undefined, res: unknown): void {
    this.active--;
    this.s.completed++;
    deliver(done, err, res);
    this.next();
  }

  private next(): void {
    while (this.active < this.maxInFlight && this.queue.length > 0) {
      const q = this.queue.shift()!;
      this.start(q.call, q.done);
    }
    if (this.active === 0 && this.queue.length === 0) for (const r of this.idle.splice(0)) r();
  }

  private degrade(call: GatewayCall, done: ReplyHandler<GatewayCall>, reason: DegradedReason): void {
    this.opts.metrics?.degraded.inc({ op: call.op, reason });
    invoke(this.fallback, call, undefined).then(
      (res) => {
        this.s.completed++;
        const r = res as { model: object };
        deliver(done, undefined, { ...r, model: { ...r.model, degraded: true, degradedReason: reason } });
      },
      (e: unknown) => {
        this.s.failed++;
        deliver(done, toGatewayError(e), undefined);
      },
    );
  }
}

function invoke(gw: ModelGateway, c: GatewayCall, deadlineMs: number | undefined): Promise<unknown> {
  const o = deadlineMs === undefined && c.trace === undefined ? undefined : { ...(deadlineMs !== undefined ? { deadlineMs } : {}), ...(c.trace !== undefined ? { traceparent: c.trace } : {}) };
  switch (c.op) {
    case "score":
      return gw.score(c.req, o);
    case "explain":
      return gw.explain(c.req, o);
    case "embed":
      return gw.embed(c.req, o);
    case "summarize":
      return gw.summarize(c.req, o);
  }
}

/** A handler that throws must not break the caller's bookkeeping. */
function deliver(done: ReplyHandler<GatewayCall>, err: Error | undefined, res: unknown): void {
  try {
    done(err, res as never);
  } catch {
    // The runtime's handler owns its errors; nothing sensible to do here.
  }
}

export type { GatewayOp };
