import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import * as pb from "../gen/shoal/v1/admin_pb.js";
import { clusterAdminHandlers, type ClusterAdmin } from "../cluster/index.js";
import { addReflection, grpcServiceDefinition, shutdownServer } from "../grpc/index.js";
import { NotAvailableError, NotClusteredError, toServiceError } from "./errors.js";
import { runtimeStatsToPb, type RuntimeIntrospection } from "./runtime-stats.js";

/** Fully-qualified name of the admin service (also its health-check service name). */
export const ADMIN_SERVICE_NAME = pb.AdminService.typeName;

/** Identity of the process, answered by GetInfo. */
export interface ProcessInfo {
  readonly nodeId: string;
  /** Roles this process runs, e.g. ["runtime"] or ["gateway", "runtime", "bridge"]. */
  readonly roles: readonly string[];
  /** Build version (package.json). */
  readonly version: string;
  /** Wall-clock start time, ms since the epoch. */
  readonly startedAtMs: number;
}

/** What the admin service serves. */
export interface AdminDeps {
  readonly info: ProcessInfo;
  /** Pipeline counters for GetCounters (read per call; names like `runtime.acked`). */
  counters(): Record<string, number>;
  /** Cluster administration; without it the cluster RPCs fail with FAILED_PRECONDITION. */
  readonly cluster?: ClusterAdmin;
  /** The actor runtime; without it GetRuntimeStats/RestartWorker fail with FAILED_PRECONDITION. */
  readonly runtime?: RuntimeIntrospection;
}

export interface AdminServerOptions {
  /** Host to bind. Default 127.0.0.1. */
  readonly host?: string;
  /** Port to bind; 0 picks a free one. Default 50070. */
  readonly port?: number;
  /** Health status of the admin service until `setServing` is called. Default false (NOT_SERVING). */
  readonly initiallyServing?: boolean;
}

/** A running admin gRPC server. */
export interface AdminServer {
  /** `host:port` actually bound. */
  readonly address: string;
  readonly port: number;
  /**
   * Health of `shoal.v1.AdminService` (readiness: owned and caught up). The overall "" status is
   * SERVING while the process is up (liveness).
   */
  setServing(serving: boolean): void;
  /** Stop accepting calls, let in-flight ones finish for up to `graceMs`, then force. */
  close(graceMs?: number): Promise<void>;
}

type Handler<Req, Res> = (req: Req) => Promise<Res>;

function unary<Req, Res>(fn: Handler<Req, Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    let p: Promise<Res>;
    try {
      p = fn(call.request);
    } catch (e) {
      return callback(toServiceError(e));
    }
    p.then(
      (res) => callback(null, res),
      (e: unknown) => callback(toServiceError(e)),
    );
  };
}

/** grpc-js implementation of shoal.v1.AdminService over `deps` (exported for tests without a socket). */
export function adminHandlers(deps: AdminDeps): Record<string, Handler<never, unknown>> {
  const cluster = deps.cluster ? clusterAdminHandlers(deps.cluster) : undefined;
  const needCluster = (method: string) => {
    if (cluster === undefined) throw new NotClusteredError(method);
    return cluster;
  };
  const needRuntime = (method: string) => {
    if (deps.runtime === undefined) throw new NotAvailableError(`${method}: this process runs no actor runtime (roles: ${deps.info.roles.join(", ")})`);
    return deps.runtime;
  };
  const h: { [K in keyof typeof pb.AdminService.method]: Handler<never, unknown> } = {
    getInfo: async () =>
      create(pb.GetInfoResponseSchema, { nodeId: deps.info.nodeId, roles: [...deps.info.roles], version: deps.info.version, startedAtMs: BigInt(deps.info.startedAtMs) }),
    getCounters: async () => create(pb.GetCountersResponseSchema, { counters: deps.counters() }),
    listMembers: async (req: pb.ListMembersRequest) => needCluster("ListMembers").listMembers(req),
    getPartitionMap: async (req: pb.GetPartitionMapRequest) => needCluster("GetPartitionMap").getPartitionMap(req),
    rebalance: async (req: pb.RebalanceRequest) => needCluster("Rebalance").rebalance(req),
    drainNode: async (req: pb.DrainNodeRequest) => needCluster("DrainNode").drainNode(req),
    getRuntimeStats: async () => runtimeStatsToPb(await needRuntime("GetRuntimeStats").introspect()),
    restartWorker: async (req: pb.RestartWorkerRequest) => {
      await needRuntime("RestartWorker").restartWorker(req.index);
      return create(pb.RestartWorkerResponseSchema, {});
    },
    watchCluster: async () => {
      throw new NotAvailableError("WatchCluster is served over Connect/gRPC-web by the console server");
    },
  };
  return h;
}

/**
 * Serve `shoal.v1.AdminService` over gRPC (plaintext h2) with the standard health service
 * (grpc.health.v1.Health: "" = the process is up, "shoal.v1.AdminService" = ready, see
 * `setServing`) and reflection (v1 and v1alpha).
 */
export async function startAdminServer(deps: AdminDeps, opts: AdminServerOptions = {}): Promise<AdminServer> {
  const server = new grpc.Server();
  const handlers = adminHandlers(deps);
  const impl: grpc.UntypedServiceImplementation = {};
  for (const m of pb.AdminService.methods) if (m.methodKind === "unary") impl[m.name] = unary(handlers[m.localName]!) as grpc.UntypedHandleCall;
  server.addService(grpcServiceDefinition(pb.AdminService), impl);
  const initial = opts.initiallyServing ? "SERVING" : "NOT_SERVING";
  const health = new HealthImplementation({ "": "SERVING", [ADMIN_SERVICE_NAME]: initial });
  health.addToServer(server);
  addReflection(server, ADMIN_SERVICE_NAME, [pb.file_shoal_v1_admin]);
  const host = opts.host ?? "127.0.0.1";
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${opts.port ?? 50_070}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
  } catch (e) {
    server.forceShutdown();
    throw e;
  }
  return {
    address: `${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    setServing: (serving) => health.setStatus(ADMIN_SERVICE_NAME, serving ? "SERVING" : "NOT_SERVING"),
    close: (graceMs = 5_000) => {
      health.setStatus("", "NOT_SERVING");
      health.setStatus(ADMIN_SERVICE_NAME, "NOT_SERVING");
      return shutdownServer(server, graceMs);
    },
  };
}
