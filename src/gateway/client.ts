import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import * as pb from "../gen/shoal/v1/gateway_pb.js";
import type { Clock } from "../ports/clock.js";
import type { CallOptions, ModelGateway, ScoreRequest, ScoreResult } from "../ports/gateway.js";
import { systemClock } from "../base/clock.js";
import * as cv from "./convert.js";
import { GatewayError } from "./errors.js";
import type { GatewayErrorCode } from "./errors.js";
import { grpcServiceDefinition } from "../grpc/index.js";
import { channelCredentials, channelOptions, type TlsSettings } from "../grpc/tls.js";
import { scoreCodecs } from "./grpc-definition.js";
import { createMicroBatcher } from "./micro-batcher.js";

export interface GatewayClientOptions {
  /** `host:port` of `shoal gateway`. */
  readonly address: string;
  /** Default deadline of a call when the caller gives none, ms. Default 30 000. */
  readonly timeoutMs?: number;
  /**
   * Client-side micro-batching of Score into ScoreBatch: up to `maxBatch` requests or `maxWaitMs`
   * (0 = flush on the next macrotask), at most `maxConcurrentBatches` RPCs in flight (items wait
   * and form bigger batches meanwhile). Default 1024 / 0 / 4. `maxBatch: 1` disables batching.
   */
  readonly scoreBatch?: { readonly maxBatch?: number; readonly maxWaitMs?: number; readonly maxConcurrentBatches?: number };
  /**
   * Bearer token sent with every call (`authorization: Bearer <token>`) to a gateway that checks
   * `console.tokens`: the internal callers' token (operator role, src/access/roles.ts). A secret:
   * never logged. Absent or "": no token (a gateway without tokens configured).
   */
  readonly token?: string;
  /** Transport security (the `tls` config section, src/grpc/tls.ts). Absent or disabled: plaintext h2. */
  readonly tls?: TlsSettings;
  readonly clock?: Clock;
}

/** The gateway as a remote service: the ModelGateway port over gRPC. */
export interface GatewayClient extends ModelGateway {
  /** Score many windows in one RPC; failed items come back as Errors in their slots. */
  scoreBatch(reqs: readonly ScoreRequest[], opts?: CallOptions): Promise<Array<ScoreResult | Error>>;
  /** Resolves when the channel is ready (or rejects after `timeoutMs`). */
  waitForReady(timeoutMs?: number): Promise<void>;
  close(): void;
}

const def = grpcServiceDefinition(pb.ModelGatewayService, scoreCodecs);

const codeOfStatus: Partial<Record<grpc.status, GatewayErrorCode>> = {
  [grpc.status.INVALID_ARGUMENT]: "invalid_request",
  [grpc.status.DEADLINE_EXCEEDED]: "deadline_exceeded",
  [grpc.status.RESOURCE_EXHAUSTED]: "overloaded",
  [grpc.status.UNAVAILABLE]: "unavailable",
  // A missing, unknown or too small token: a configuration problem, not worth retrying.
  [grpc.status.UNAUTHENTICATED]: "auth",
  [grpc.status.PERMISSION_DENIED]: "auth",
};

/** Map a grpc-js error to a GatewayError (the server's code/retryable travel in metadata). */
export function fromServiceError(e: grpc.ServiceError): GatewayError {
  const code = (e.metadata?.get("shoal-error-code")[0] as GatewayErrorCode | undefined) ?? codeOfStatus[e.code] ?? "internal";
  const retryableMd = e.metadata?.get("shoal-retryable")[0];
  const retryable = retryableMd !== undefined ? retryableMd === "true" : e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.RESOURCE_EXHAUSTED;
  return new GatewayError(e.details || e.message, { code, retryable, cause: e });
}

/** Create a gRPC client of the gateway (one HTTP/2 channel; calls multiplex over it). */
export function createGatewayClient(opts: GatewayClientOptions): GatewayClient {
  const clock = opts.clock ?? systemClock;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const client = new grpc.Client(opts.address, opts.tls ? channelCredentials(opts.tls) : grpc.credentials.createInsecure(), {
    ...(opts.tls ? channelOptions(opts.tls) : {}),
    "grpc.max_receive_message_length": 16 * 1024 * 1024,
    "grpc.max_send_message_length": 16 * 1024 * 1024,
    // Large receive window: batch responses never wait for WINDOW_UPDATEs.
    "grpc-node.flow_control_window": 8 * 1024 * 1024,
  });

  function unary<I extends DescMessage, O extends DescMessage>(method: string, _in: I, _out: O, req: MessageShape<I>, o?: CallOptions): Promise<MessageShape<O>> {
    return call<MessageShape<I>, MessageShape<O>>(method, req, o);
  }

  const authorization = opts.token !== undefined && opts.token !== "" ? `Bearer ${opts.token}` : undefined;
  const metadata = (o: CallOptions | undefined) => {
    const md = new grpc.Metadata();
    if (authorization !== undefined) md.set("authorization", authorization);
    // W3C trace context in gRPC metadata (docs/adr/0023-tracing.md).
    if (o?.traceparent !== undefined) md.set("traceparent", o.traceparent);
    return md;
  };

  function call<Req, Res>(method: string, req: Req, o?: CallOptions): Promise<Res> {
    const m = def[method]!;
    const deadline = new Date(o?.deadlineMs ?? clock.now() + timeoutMs);
    return new Promise((resolve, reject) => {
      const call = client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize as (b: Buffer) => Res, req, metadata(o), { deadline }, (err, res) =>
        err ? reject(fromServiceError(err)) : resolve(res!),
      );
      o?.signal?.addEventListener("abort", () => call.cancel(), { once: true });
    });
  }

  const scoreBatchRpc = async (reqs: readonly ScoreRequest[], o?: CallOptions): Promise<Array<ScoreResult | Error>> => {
    const res = await call<readonly ScoreRequest[], Array<ScoreResult | Error>>("ScoreBatch", reqs, o);
    if (res.length !== reqs.length) throw new GatewayError(`ScoreBatch returned ${res.length} responses for ${reqs.length} requests`, { code: "internal", retryable: false });
    return res;
  };

  const maxBatch = opts.scoreBatch?.maxBatch ?? 1024;
  const batcher = createMicroBatcher<{ req: ScoreRequest; deadlineMs: number | undefined }, ScoreResult>({
    clock,
    maxBatch,
    maxWaitMs: opts.scoreBatch?.maxWaitMs ?? 0,
    maxConcurrentBatches: opts.scoreBatch?.maxConcurrentBatches ?? 4,
    run: (items) => {
      const ds = items.map((i) => i.deadlineMs ?? clock.now() + timeoutMs);
      return scoreBatchRpc(
        items.map((i) => i.req),
        { deadlineMs: Math.max(...ds) },
      );
    },
  });

  return {
    score: (req, o) =>
      maxBatch <= 1
        ? call<ScoreRequest, ScoreResult>("Score", req, o)
        : batcher({ req, deadlineMs: o?.deadlineMs }),
    scoreBatch: scoreBatchRpc,
    explain: (req, o) => unary("Explain", pb.ExplainRequestSchema, pb.ExplainResponseSchema, cv.explainReqToPb(req), o).then(cv.explainResFromPb),
    embed: (req, o) => unary("Embed", pb.EmbedRequestSchema, pb.EmbedResponseSchema, cv.embedReqToPb(req), o).then(cv.embedResFromPb),
    summarize: (req, o) => unary("Summarize", pb.SummarizeRequestSchema, pb.SummarizeResponseSchema, cv.summarizeReqToPb(req), o).then(cv.summarizeResFromPb),
    waitForReady: (ms = 5_000) => new Promise((resolve, reject) => client.waitForReady(new Date(Date.now() + ms), (e) => (e ? reject(e) : resolve()))),
    close: () => {
      batcher.flush();
      client.close();
    },
  };
}
