import { create } from "@bufbuild/protobuf";
import { ShoalError } from "../base/errors.js";
import * as grpc from "@grpc/grpc-js";
import * as pb from "../gen/shoal/v1/admin_pb.js";
import { grpcServiceDefinition } from "../grpc/index.js";

/** A gRPC client of `shoal.v1.AdminService` (what `shoal admin` and `shoal cluster status --admin` use). */
export interface AdminClient {
  getInfo(): Promise<pb.GetInfoResponse>;
  getCounters(): Promise<pb.GetCountersResponse>;
  listMembers(): Promise<pb.ListMembersResponse>;
  getPartitionMap(): Promise<pb.GetPartitionMapResponse>;
  getRuntimeStats(): Promise<pb.GetRuntimeStatsResponse>;
  restartWorker(index: number): Promise<void>;
  rebalance(): Promise<void>;
  /** Drain `nodeId` (true) or put it back in service (false). */
  drainNode(nodeId: string, drain: boolean): Promise<void>;
  close(): void;
}

/** An admin call failed: `status` is the gRPC status code, the message is the server's details. */
export class AdminCallError extends ShoalError {
  override readonly name = "AdminCallError";
  readonly status: grpc.status;
  constructor(method: string, e: grpc.ServiceError) {
    super(`${method}: ${grpc.status[e.code] ?? e.code}: ${e.details || e.message}`, { cause: e, code: "admin_call_failed", retryable: e.code === grpc.status.UNAVAILABLE });
    this.status = e.code;
  }
}

const def = grpcServiceDefinition(pb.AdminService);
const Client = grpc.makeGenericClientConstructor(def, "AdminService");

/** Connects to the admin service at `host:port`; every call has a `timeoutMs` deadline (default 10 s). */
export function createAdminClient(address: string, opts: { timeoutMs?: number } = {}): AdminClient {
  const client = new Client(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, grpc.requestCallback<unknown> & ((req: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: grpc.requestCallback<unknown>) => void)>;
  const call = <T>(method: string, req: unknown) =>
    new Promise<T>((resolve, reject) => {
      const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
      client[method]!.call(client, req, new grpc.Metadata(), { deadline }, (e: grpc.ServiceError | null, r: unknown) => (e ? reject(new AdminCallError(method, e)) : resolve(r as T)));
    });
  return {
    getInfo: () => call("GetInfo", create(pb.GetInfoRequestSchema)),
    getCounters: () => call("GetCounters", create(pb.GetCountersRequestSchema)),
    listMembers: () => call("ListMembers", create(pb.ListMembersRequestSchema)),
    getPartitionMap: () => call("GetPartitionMap", create(pb.GetPartitionMapRequestSchema)),
    getRuntimeStats: () => call("GetRuntimeStats", create(pb.GetRuntimeStatsRequestSchema)),
    restartWorker: async (index) => {
      await call("RestartWorker", create(pb.RestartWorkerRequestSchema, { index }));
    },
    rebalance: async () => {
      await call("Rebalance", create(pb.RebalanceRequestSchema));
    },
    drainNode: async (nodeId, drain) => {
      await call("DrainNode", create(pb.DrainNodeRequestSchema, { nodeId, drain }));
    },
    close: () => client.close(),
  };
}
