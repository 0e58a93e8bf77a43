import type { IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import type { CallPolicy } from "../grpc/connect-on-grpc.js";
import type { TlsSettings } from "../grpc/tls.js";
import { startWebServer, type WebServer, type WebService } from "../grpc/web-server.js";
import { createStaticHandler } from "./static-files.js";

/** Where `npm run build:console` writes the app: `<package root>/dist/console`. */
export function defaultAppDir(): string {
  return fileURLToPath(new URL("../../dist/console/", import.meta.url));
}

/** Options of {@link startConsoleServer}. */
export interface ConsoleServerOptions {
  /** Host to bind (`query.host`: loopback by default). */
  readonly host: string;
  /** Port to bind (`query.webPort`); 0 picks a free one. */
  readonly port: number;
  /** Deadline, per-caller caps and access check (bearer tokens) of every call. */
  readonly policy: CallPolicy;
  /** Transport security (the `tls` config section): HTTPS with h2 and http/1.1 when enabled. Default plain HTTP. */
  readonly tls?: TlsSettings;
  /** Folder of the built app (`console.appDir`); "" or absent: {@link defaultAppDir}. */
  readonly appDir?: string;
}

/** The running console server. */
export interface ConsoleServer extends WebServer {
  /** The folder its app files come from. */
  readonly appDir: string;
}

/**
 * The operators' console (docs/adr/0018-console.md) on one HTTP/1.1 port: `services` over gRPC-web
 * and Connect (QueryService, AlertService, AdminService, ConfigService: whatever the caller
 * composes), every call access-checked by `policy.access`; the built app's files (GET/HEAD, see
 * src/console/static-files.ts); and `/healthz` (200 while the process serves).
 */
export async function startConsoleServer(services: readonly WebService[], o: ConsoleServerOptions): Promise<ConsoleServer> {
  const appDir = o.appDir !== undefined && o.appDir !== "" ? o.appDir : defaultAppDir();
  const files = createStaticHandler(appDir);
  const fallback = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
      res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : "ok\n");
      return;
    }
    files(req, res);
  };
  const web = await startWebServer(services, { host: o.host, port: o.port, policy: o.policy, fallback, ...(o.tls ? { tls: o.tls } : {}) });
  return { ...web, appDir };
}
