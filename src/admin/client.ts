import { create } from "@bufbuild/protobuf";
import { ShoalError } from "../base/errors.js";
import * as grpc from "@grpc/grpc-js";
import * as pb from "../gen/shoal/v1/admin_pb.js";
import { grpcServiceDefinition } from "../grpc/index.js";
import { channelCredentials, channelOptions, type TlsSettings } from "../grpc/tls.js";

/** Per-call options of an {@link AdminClient} call. */
export interface AdminCallOptions {
  /** `authorization` metadata to send ("Bearer <token>"), e.g. the console forwarding its caller's. Default: the client's. */
  readonly authorization?: string;
  /** Cancels the call (CANCELLED). */
  readonly signal?: AbortSignal;
}

/** A gRPC client of `shoal.v1.AdminService` (what `shoal admin`, `shoal cluster status --admin` and a console pod use). */
export interface AdminClient {
  getInfo(o?: AdminCallOptions): Promise<pb.GetInfoResponse>;
  getCounters(o?: AdminCallOptions): Promise<pb.GetCountersResponse>;
  listMembers(o?: AdminCallOptions): Promise<pb.ListMembersResponse>;
  getPartitionMap(o?: AdminCallOptions): Promise<pb.GetPartitionMapResponse>;
  getRuntimeStats(o?: AdminCallOptions): Promise<pb.GetRuntimeStatsResponse>;
  restartWorker(index: number, o?: AdminCallOptions): Promise<void>;
  rebalance(o?: AdminCallOptions): Promise<void>;
  /** Drain `nodeId` (true) or put it back in service (false). */
  drainNode(nodeId: string, drain: boolean, o?: AdminCallOptions): Promise<void>;
  close(): void;
}

/** An admin call failed: `status` is the gRPC status code, the message is the server's details. */
export class AdminCallError extends ShoalError {
  override readonly name = "AdminCallError";
  readonly status: grpc.status;
  /** The server's message alone (what a proxy passes on). */
  readonly details: string;
  constructor(method: string, e: grpc.ServiceError) {
    super(`${method}: ${grpc.status[e.code] ?? e.code}: ${e.details || e.message}`, { cause: e, code: "admin_call_failed", retryable: e.code === grpc.status.UNAVAILABLE });
    this.status = e.code;
    this.details = e.details || e.message;
  }
}

const def = grpcServiceDefinition(pb.AdminService);
const Client = grpc.makeGenericClientConstructor(def, "AdminService");

/**
 * Connects to the admin service at `host:port`; every call has a `timeoutMs` deadline (default
 * 10 s) and sends `authorization` ("Bearer <token>") when given (per call: {@link AdminCallOptions}).
 * With `tls` (the `tls` config section) enabled, dials TLS (mutual when a client cert is set); default plaintext.
 */
export function createAdminClient(address: string, opts: { timeoutMs?: number; authorization?: string; tls?: TlsSettings } = {}): AdminClient {
  type Unary = (req: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: grpc.requestCallback<unknown>) => grpc.ClientUnaryCall;
  const client = opts.tls ? new Client(address, channelCredentials(opts.tls), channelOptions(opts.tls)) : new Client(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Unary>;
  const call = <T>(method: string, req: unknown, o: AdminCallOptions = {}) =>
    new Promise<T>((resolve, reject) => {
      const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
      const md = new grpc.Metadata();
      const authorization = o.authorization ?? opts.authorization;
      if (authorization !== undefined && authorization !== "") md.set("authorization", authorization);
      const onAbort = () => c.cancel();
      const c = client[method]!.call(client, req, md, { deadline }, (e: grpc.ServiceError | null, r: unknown) => {
        o.signal?.removeEventListener("abort", onAbort);
        if (e) reject(new AdminCallError(method, e));
        else resolve(r as T);
      });
      if (o.signal?.aborted) c.cancel();
      else o.signal?.addEventListener("abort", onAbort, { once: true });
    });
  return {
    getInfo: (o) => call("GetInfo", create(pb.GetInfoRequestSchema), o),
    getCounters: (o) => call("GetCounters", create(pb.GetCountersRequestSchema), o),
    listMembers: (o) => call("ListMembers", create(pb.ListMembersRequestSchema), o),
    getPartitionMap: (o) => call("GetPartitionMap", create(pb.GetPartitionMapRequestSchema), o),
    getRuntimeStats: (o) => call("GetRuntimeStats", create(pb.GetRuntimeStatsRequestSchema), o),
    restartWorker: async (index, o) => {
      await call("RestartWorker", create(pb.RestartWorkerRequestSchema, { index }), o);
    },
    rebalance: async (o) => {
      await call("Rebalance", create(pb.RebalanceRequestSchema), o);
    },
    drainNode: async (nodeId, drain, o) => {
      await call("DrainNode", create(pb.DrainNodeRequestSchema, { nodeId, drain }), o);
    },
    close: () => client.close(),
  };
}
