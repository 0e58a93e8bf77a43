import * as grpc from "@grpc/grpc-js";
import type { ServiceImpl } from "@connectrpc/connect";
import { HealthImplementation } from "grpc-health-check";
import { QueryService, file_shoal_v1_query } from "../gen/shoal/v1/query_pb.js";
import { addReflection, grpcServiceDefinition, shutdownServer } from "../grpc/index.js";
import { grpcHandlersOf, type CallPolicy } from "../grpc/connect-on-grpc.js";

/** Fully-qualified name of the query service (also its health-check service name). */
export const QUERY_SERVICE_NAME = QueryService.typeName;

export interface QueryServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly policy: CallPolicy;
}

export interface QueryServer {
  /** `host:port` actually bound. */
  readonly address: string;
  readonly port: number;
  setServing(serving: boolean): void;
  close(graceMs?: number): Promise<void>;
}

/**
 * Serve shoal.v1.QueryService over gRPC (plaintext h2) with the standard health service ("" and
 * "shoal.v1.QueryService") and reflection, from the Connect implementation `impl`.
 */
export async function startQueryServer(impl: ServiceImpl<typeof QueryService>, o: QueryServerOptions): Promise<QueryServer> {
  const server = new grpc.Server({ "grpc.max_receive_message_length": 1024 * 1024 });
  server.addService(grpcServiceDefinition(QueryService), grpcHandlersOf(QueryService, impl, o.policy));
  const health = new HealthImplementation({ "": "SERVING", [QUERY_SERVICE_NAME]: "SERVING" });
  health.addToServer(server);
  addReflection(server, QUERY_SERVICE_NAME, [file_shoal_v1_query]);
  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => server.bindAsync(`${host}:${o.port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  } catch (e) {
    server.forceShutdown();
    throw e;
  }
  return {
    address: `${host}:${port}`,
    port,
    setServing: (serving) => health.setStatus(QUERY_SERVICE_NAME, serving ? "SERVING" : "NOT_SERVING"),
    close: (graceMs = 5_000) => {
      health.setStatus("", "NOT_SERVING");
      health.setStatus(QUERY_SERVICE_NAME, "NOT_SERVING");
      return shutdownServer(server, graceMs);
    },
  };
}
