import type { Tracing } from "../ports/tracing.js";
import { callMetricsInterceptor, type CallMetrics } from "../grpc/call-metrics.js";
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import * as pb from "../gen/shoal/v1/gateway_pb.js";
import type { CallOptions, ScoreRequest, ScoreResult } from "../ports/gateway.js";
import * as cv from "./convert.js";
import { toGatewayError } from "./errors.js";
import type { GatewayErrorCode } from "./errors.js";
import type { GatewayService } from "./gateway.js";
import { addReflection, createGrpcServer, grpcServiceDefinition, shutdownServer, widenFlowControlWindows } from "../grpc/index.js";
import { accessServerInterceptor } from "../grpc/server-access.js";
import type { AccessCheck } from "../access/index.js";
import type { AuditLog } from "../ports/audit.js";
import { scoreCodecs } from "./grpc-definition.js";

/** Fully-qualified name of the gateway service (also its health-check service name). */
export const GATEWAY_SERVICE_NAME = pb.ModelGatewayService.typeName;

export interface GatewayServerOptions {
  /** Host to bind. Default 127.0.0.1. */
  readonly host?: string;
  /** Port to bind; 0 picks a free one. Default 50061. */
  readonly port?: number;
  /** Largest request/response message, bytes. Default 16 MiB (ScoreBatch of many windows). */
  readonly maxMessageBytes?: number;
  /** HTTP/2 receive window (connection and per stream), bytes. Default 8 MiB. */
  readonly flowControlWindowBytes?: number;
  /**
   * Bearer tokens and roles (`console.tokens`), checked on every call before its request is parsed
   * (src/grpc/server-access.ts): the gateway's methods need the operator role (the internal
   * callers' "runtime" token, src/access/roles.ts). Health and reflection stay open. Absent: no check.
   */
  readonly access?: AccessCheck;
  /** Where audited calls are recorded (none of the gateway's methods is today). Absent: nothing is. */
  readonly audit?: AuditLog;
  /** Transport security (serverCredentials(cfg.tls) of src/grpc/tls.ts). Default insecure (plaintext h2). */
  readonly credentials?: grpc.ServerCredentials;
  /** A server span per call that arrives with a `traceparent` in its metadata. Default: none. */
  readonly tracing?: Tracing;
  /** RED metrics of every call (src/grpc/call-metrics.ts). Default: none. */
  readonly metrics?: CallMetrics;
}

/** A running gateway gRPC server. */
export interface GatewayServer {
  /** `host:port` actually bound. */
  readonly address: string;
  readonly port: number;
  /** Flip health to NOT_SERVING (e.g. during shutdown). */
  setServing(serving: boolean): void;
  /** Stop accepting calls, let in-flight ones finish for up to `graceMs`, then force. */
  close(graceMs?: number): Promise<void>;
}

const statusOf: Record<GatewayErrorCode, grpc.status> = {
  invalid_request: grpc.status.INVALID_ARGUMENT,
  deadline_exceeded: grpc.status.DEADLINE_EXCEEDED,
  rate_limited: grpc.status.RESOURCE_EXHAUSTED,
  overloaded: grpc.status.RESOURCE_EXHAUSTED,
  budget_exhausted: grpc.status.RESOURCE_EXHAUSTED,
  circuit_open: grpc.status.UNAVAILABLE,
  upstream: grpc.status.UNAVAILABLE,
  unavailable: grpc.status.UNAVAILABLE,
  timeout: grpc.status.UNAVAILABLE,
  invalid_output: grpc.status.INTERNAL,
  auth: grpc.status.INTERNAL,
  internal: grpc.status.INTERNAL,
};

/** grpc-js error for a gateway error; `code`/`retryable` travel in trailing metadata. */
function toServiceError(e: unknown): grpc.ServiceError {
  const err = toGatewayError(e);
  const md = new grpc.Metadata();
  md.set("shoal-error-code", err.code);
  md.set("shoal-retryable", String(err.retryable));
  return Object.assign(new Error(err.message), { code: statusOf[err.code], details: err.message, metadata: md }) as grpc.ServiceError;
}

function callOptions(call: grpc.ServerUnaryCall<unknown, unknown>, traceparent: string | undefined): CallOptions {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : typeof d === "number" && Number.isFinite(d) ? d : undefined;
  const o = ms === undefined ? {} : { deadlineMs: ms };
  return traceparent === undefined ? o : { ...o, traceparent };
}

/** The W3C trace context a caller sent in its metadata (docs/adr/0023-tracing.md). */
function incomingTraceparent(call: grpc.ServerUnaryCall<unknown, unknown>): string | undefined {
  const v = call.metadata.get("traceparent")[0];
  return typeof v === "string" ? v : undefined;
}

function unaryHandlers(tracing: Tracing | undefined) {
  return function unary<Req, Res>(method: string, fn: (req: Req, opts: CallOptions) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const c = call as grpc.ServerUnaryCall<unknown, unknown>;
      // A server span only for a caller that sent a trace context (and only while tracing is on).
      const parent = tracing?.enabled === true ? incomingTraceparent(c) : undefined;
      const span = parent !== undefined ? tracing!.start(`shoal.v1.ModelGatewayService/${method}`, { parent, kind: "server", attributes: { "rpc.system": "grpc", "rpc.service": "shoal.v1.ModelGatewayService", "rpc.method": method } }) : undefined;
      const done: grpc.sendUnaryData<Res> = (err, res) => {
        if (span !== undefined) {
          if (err) span.fail((err as { message?: string; details?: string }).message ?? (err as { details?: string }).details ?? "failed");
          span.end();
        }
        callback(err, res);
      };
      let p: Promise<Res>;
      try {
        p = fn(call.request, callOptions(c, span?.traceparent));
      } catch (e) {
        return done(toServiceError(e));
      }
      p.then(
        (res) => done(null, res),
        (e: unknown) => done(toServiceError(e)),
      );
    };
  };
}

/** grpc-js ServiceImplementation of shoal.v1.ModelGatewayService over a GatewayService. */
export function gatewayHandlers(gw: GatewayService, tracing?: Tracing): grpc.UntypedServiceImplementation {
  const unary = unaryHandlers(tracing);
  return {
    // Score and ScoreBatch carry plain port types (score-codec.ts does the wire format).
    Score: unary<ScoreRequest, ScoreResult>("Score", (r, o) => gw.score(r, o)),
    ScoreBatch: unary<ScoreRequest[], Array<ScoreResult | Error>>("ScoreBatch", (r, o) => gw.scoreBatch(r, o)),
    Explain: unary<pb.ExplainRequest, pb.ExplainResponse>("Explain", async (r, o) => cv.explainResToPb(await gw.explain(cv.explainReqFromPb(r), o))),
    Embed: unary<pb.EmbedRequest, pb.EmbedResponse>("Embed", async (r, o) => cv.embedResToPb(await gw.embed(cv.embedReqFromPb(r), o))),
    Summarize: unary<pb.SummarizeRequest, pb.SummarizeResponse>("Summarize", async (r, o) => cv.summarizeResToPb(await gw.summarize(cv.summarizeReqFromPb(r), o))),
  };
}

/**
 * Serve `gw` over gRPC (plaintext h2, or TLS with `opts.credentials`) with the standard health (grpc.health.v1.Health: overall ""
 * and the gateway service) and reflection (v1 and v1alpha) services; with `opts.access`, every
 * gateway call needs a token of the operator role (UNAUTHENTICATED / PERMISSION_DENIED).
 */
export async function startGatewayServer(gw: GatewayService, opts: GatewayServerOptions = {}): Promise<GatewayServer> {
  const maxBytes = opts.maxMessageBytes ?? 16 * 1024 * 1024;
  // Without tokens (an access check that lets everyone in) and without audit, no access interceptor.
  const checked = opts.access?.enforced === true || opts.audit !== undefined;
  const interceptors = [
    ...(opts.metrics ? [callMetricsInterceptor(opts.metrics)] : []),
    ...(checked ? [accessServerInterceptor({ access: opts.access, audit: opts.audit, services: [pb.ModelGatewayService] })] : []),
  ];
  const server = createGrpcServer({ "grpc.max_receive_message_length": maxBytes, "grpc.max_send_message_length": maxBytes }, interceptors);
  server.addService(grpcServiceDefinition(pb.ModelGatewayService, scoreCodecs), gatewayHandlers(gw, opts.tracing));
  const health = new HealthImplementation({ "": "SERVING", [GATEWAY_SERVICE_NAME]: "SERVING" });
  health.addToServer(server);
  addReflection(server, GATEWAY_SERVICE_NAME, [pb.file_shoal_v1_gateway]);
  const host = opts.host ?? "127.0.0.1";
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${opts.port ?? 50_061}`, opts.credentials ?? grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  widenFlowControlWindows(server, opts.flowControlWindowBytes ?? 8 * 1024 * 1024);
  const setServing = (serving: boolean) => {
    const s = serving ? "SERVING" : "NOT_SERVING";
    health.setStatus("", s);
    health.setStatus(GATEWAY_SERVICE_NAME, s);
  };
  return {
    address: `${host}:${port}`,
    port,
    setServing,
    close: (graceMs = 5_000) => {
      setServing(false);
      return shutdownServer(server, graceMs);
    },
  };
}
