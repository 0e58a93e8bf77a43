import type * as grpc from "@grpc/grpc-js";

/** Graceful stop of a gRPC server: in-flight calls get `graceMs` to finish, then it is forced. */
export function shutdownServer(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
