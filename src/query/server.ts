import * as grpc from "@grpc/grpc-js";
import type { DescFile } from "@bufbuild/protobuf";
import { callMetricsInterceptor } from "../grpc/call-metrics.js";
import type { ServiceImpl } from "@connectrpc/connect";
import { HealthImplementation } from "grpc-health-check";
import { QueryService, file_shoal_v1_query } from "../gen/shoal/v1/query_pb.js";
import { addReflection, createGrpcServer, grpcServiceDefinition, shutdownServer, widenFlowControlWindows } from "../grpc/index.js";
import { grpcHandlersOf, type CallPolicy } from "../grpc/connect-on-grpc.js";
import { queryCodecs } from "./readings-codec.js";

/** Fully-qualified name of the query service (also its health-check service name). */
export const QUERY_SERVICE_NAME = QueryService.typeName;

/** A service served beside QueryService on the same port (the AlertService: `addAlertService` of src/alert-service). */
export interface ExtraService {
  /** Fully-qualified name, for health and reflection. */
  readonly name: string;
  /** Its generated `file_*` descriptors, for reflection. */
  readonly files: readonly DescFile[];
  /** Registers its handlers on the server (before it binds). */
  add(server: grpc.Server): void;
}

export interface QueryServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly policy: CallPolicy;
  /** Served on the same server, with health and reflection. Default none. */
  readonly extraServices?: readonly ExtraService[];
  /** Transport security (serverCredentials(cfg.tls) of src/grpc/tls.ts). Default insecure (plaintext h2). */
  readonly credentials?: grpc.ServerCredentials;
}

export interface QueryServer {
  /** `host:port` actually bound. */
  readonly address: string;
  readonly port: number;
  setServing(serving: boolean): void;
  close(graceMs?: number): Promise<void>;
}

/** Largest request the query server takes (and the HTTP/2 window it advertises: one request at once). */
const MAX_REQUEST_BYTES = 1024 * 1024;

/**
 * Serve shoal.v1.QueryService over gRPC (plaintext h2, or TLS with `o.credentials`) with the standard health service ("" and
 * "shoal.v1.QueryService") and reflection, from the Connect implementation `impl`.
 */
export async function startQueryServer(impl: ServiceImpl<typeof QueryService>, o: QueryServerOptions): Promise<QueryServer> {
  const server = createGrpcServer({ "grpc.max_receive_message_length": MAX_REQUEST_BYTES }, o.policy.metrics ? [callMetricsInterceptor(o.policy.metrics)] : []);
  server.addService(grpcServiceDefinition(QueryService, queryCodecs), grpcHandlersOf(QueryService, impl, o.policy));
  const extra = o.extraServices ?? [];
  for (const x of extra) x.add(server);
  const names = [QUERY_SERVICE_NAME, ...extra.map((x) => x.name)];
  const health = new HealthImplementation(Object.fromEntries([["", "SERVING"], ...names.map((n) => [n, "SERVING"] as const)]));
  health.addToServer(server);
  addReflection(server, QUERY_SERVICE_NAME, [file_shoal_v1_query], extra);
  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => server.bindAsync(`${host}:${o.port}`, o.credentials ?? grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    widenFlowControlWindows(server, MAX_REQUEST_BYTES);
  } catch (e) {
    server.forceShutdown();
    throw e;
  }
  return {
    address: `${host}:${port}`,
    port,
    setServing: (serving) => names.forEach((n) => health.setStatus(n, serving ? "SERVING" : "NOT_SERVING")),
    close: (graceMs = 5_000) => {
      health.setStatus("", "NOT_SERVING");
      names.forEach((n) => health.setStatus(n, "NOT_SERVING"));
      return shutdownServer(server, graceMs);
    },
  };
}
