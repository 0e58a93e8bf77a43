import type * as grpc from "@grpc/grpc-js";
import type { Http2Server, ServerHttp2Session } from "node:http2";

/**
 * Advertise a large HTTP/2 receive window on every incoming session of a bound grpc-js server.
 * grpc-js servers keep Node's 64 KiB default, so a request larger than that waits for
 * WINDOW_UPDATEs, one per turn of the server's event loop: on a busy loop a 1 MB request takes
 * seconds and holds up the other calls of its connection (the gateway's ScoreBatch pipelining:
 * 6k vs 20k+ scores/s; the gRPC fuzz: 400 KB–1 MB bodies of the query and admin servers took
 * 3–9 s under load, 0.1–1 s widened). A window of the largest message a server accepts lets a
 * whole request in at once. grpc-js has no server option for it, so this reaches its http2
 * servers (pinned 1.14.7); if the internals change, it does nothing. Call after `bindAsync`.
 */
export function widenFlowControlWindows(server: grpc.Server, bytes: number): void {
  const servers = (server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
  if (!(servers instanceof Map)) return;
  for (const h2 of servers.keys()) {
    h2.on("session", (session: ServerHttp2Session) => {
      try {
        session.setLocalWindowSize(bytes);
        session.settings({ initialWindowSize: Math.min(bytes, 2 ** 31 - 1) });
      } catch {
        // An already-closed session: nothing to widen.
      }
    });
  }
}
