import * as grpc from "@grpc/grpc-js";
import type { ServiceImpl } from "@connectrpc/connect";
import { callMetricsInterceptor } from "../grpc/call-metrics.js";
import { HealthImplementation } from "grpc-health-check";
import * as pb from "../gen/shoal/v1/admin_pb.js";
import { addReflection, createGrpcServer, grpcServiceDefinition, shutdownServer, widenFlowControlWindows } from "../grpc/index.js";
import { grpcHandlersOf, type CallPolicy } from "../grpc/connect-on-grpc.js";

/** Fully-qualified name of the admin service (also its health-check service name). */
export const ADMIN_SERVICE_NAME = pb.AdminService.typeName;

/**
 * Call policy of the admin port when none is given: 60 s per unary call (a RestartWorker rebuilds
 * partitions), 16 calls and 16 WatchCluster streams per caller, no access check.
 */
export const DEFAULT_ADMIN_POLICY: CallPolicy = { timeoutMs: 60_000, maxConcurrentPerCaller: 16, maxStreamsPerCaller: 16 };

export interface AdminServerOptions {
  /** Host to bind. Default 127.0.0.1. */
  readonly host?: string;
  /** Port to bind; 0 picks a free one. Default 50070. */
  readonly port?: number;
  /** Health status of the admin service until `setServing` is called. Default false (NOT_SERVING). */
  readonly initiallyServing?: boolean;
  /**
   * Deadline, per-caller caps, access check (bearer tokens) and audit log (`policy.audit`: Rebalance,
   * DrainNode and RestartWorker are recorded with who, from where and the outcome) of every
   * AdminService call. Default {@link DEFAULT_ADMIN_POLICY}.
   */
  readonly policy?: CallPolicy;
  /** Transport security (serverCredentials(cfg.tls) of src/grpc/tls.ts). Default insecure (plaintext h2). */
  readonly credentials?: grpc.ServerCredentials;
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

/**
 * Serve `impl` (the Connect implementation of `shoal.v1.AdminService`: {@link createAdminService}
 * or the remote one) over gRPC (plaintext h2, or TLS with `opts.credentials`) with the standard health service
 * (grpc.health.v1.Health: "" = the process is up, "shoal.v1.AdminService" = ready, see
 * `setServing`) and reflection (v1 and v1alpha). Health and reflection are never access-checked
 * (Kubernetes probes).
 */
export async function startAdminServer(impl: ServiceImpl<typeof pb.AdminService>, opts: AdminServerOptions = {}): Promise<AdminServer> {
  const metrics = opts.policy?.metrics;
  const server = createGrpcServer({}, metrics ? [callMetricsInterceptor(metrics)] : []);
  server.addService(grpcServiceDefinition(pb.AdminService), grpcHandlersOf(pb.AdminService, impl, opts.policy ?? DEFAULT_ADMIN_POLICY));
  const initial = opts.initiallyServing ? "SERVING" : "NOT_SERVING";
  const health = new HealthImplementation({ "": "SERVING", [ADMIN_SERVICE_NAME]: initial });
  health.addToServer(server);
  addReflection(server, ADMIN_SERVICE_NAME, [pb.file_shoal_v1_admin]);
  const host = opts.host ?? "127.0.0.1";
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${opts.port ?? 50_070}`, opts.credentials ?? grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    // grpc-js's default largest request (4 MiB) in one window (src/grpc/flow-control.ts).
    widenFlowControlWindows(server, 4 * 1024 * 1024);
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
