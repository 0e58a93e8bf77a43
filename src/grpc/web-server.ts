import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from "node:http2";
import { connectCallMetrics } from "./call-metrics.js";
import type { AddressInfo, Socket } from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createConnectRouter, createContextValues, type ConnectRouterOptions, type ContextValues, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { invalidArgumentOnParseErrors } from "./web-server-parse-errors.js";
import { accessInterceptor } from "./access.js";
import { PEER as PEER_ADDRESS } from "./audit.js";
import { CallerSlots, type CallPolicy } from "./connect-on-grpc.js";
import { nodeTlsOptions, type TlsSettings } from "./tls.js";
import { dropOverlongDeadlines } from "./web-timeout-headers.js";
import { boundErrorMessages } from "./status-details.js";

/** A service and its Connect implementation. */
export interface WebService {
  readonly service: DescService;
  readonly impl: ServiceImpl<DescService>;
}

/** `service` with its implementation, as {@link startWebServer} takes it (type-checked here, once). */
export function webService<S extends DescService>(service: S, impl: ServiceImpl<S>): WebService {
  return { service, impl: impl as unknown as ServiceImpl<DescService> };
}

/** A running HTTP server for browsers and HTTP clients. */
export interface WebServer {
  /** `http://host:port` (`https://` with TLS). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Options of {@link startWebServer}. */
export interface WebServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Deadline, per-caller caps and access check of every call (as on the gRPC ports). */
  readonly policy: CallPolicy;
  /** Answers every request that is not an RPC of `services` (static files, /healthz). Default: 404. */
  readonly fallback?: (req: IncomingMessage, res: ServerResponse) => void;
  /** More Connect interceptors, run after the access check and before the call policy. Default none. */
  readonly interceptors?: readonly Interceptor[];
  /**
   * Transport security (the `tls` config section): when enabled, an HTTP/2 TLS server that also
   * speaks HTTP/1.1 (ALPN h2, http/1.1), verifying client certs when `requireClientCert`.
   * Absent or disabled: plain HTTP/1.1, as before.
   */
  readonly tls?: TlsSettings;
}

/** Header carrying the peer's address to the interceptor (set by the server, never by the client). */
const PEER = "x-shoal-peer";

/**
 * Serves `services` over HTTP/1.1 for browsers and plain HTTP clients: gRPC-web (what a browser
 * console speaks), Connect (JSON or binary over POST: `curl` works) and gRPC-web-text, from the
 * same implementations the gRPC server uses. The call policy of the gRPC port applies here too:
 * at most `timeoutMs` per unary call, `maxConcurrentPerCaller` unary calls and
 * `maxStreamsPerCaller` streams per caller (`shoal-caller` header, else the peer's address).
 * With `policy.access`, every call is checked first (UNAUTHENTICATED / PERMISSION_DENIED) and its
 * caller is in the handler's context values (CALLER of src/access). With `policy.audit`, calls of
 * audited methods are recorded when they end (src/grpc/access.ts), with the socket's peer address
 * (the PEER context value of src/grpc/audit.ts) as source. A request body that is not the method's
 * request message is INVALID_ARGUMENT with the reason, as on the gRPC ports (./web-server-parse-errors.ts).
 */
export async function startWebServer(services: readonly WebService[], o: WebServerOptions): Promise<WebServer> {
  const fallback = o.fallback;
  const handler = nodeHandler(services, {
    // No maxTimeoutMs: a client asking for a longer deadline is not refused; the policy interceptor
    // ends every unary call after policy.timeoutMs (the client's deadline when sooner).
    readMaxBytes: 1024 * 1024,
    interceptors: [
      boundErrorMessages(),
      ...(o.policy.metrics ? [connectCallMetrics(o.policy.metrics)] : []),
      ...(o.policy.access || o.policy.audit ? [accessInterceptor(o.policy.access, o.policy.audit)] : []),
      ...(o.interceptors ?? []),
      policyInterceptor(o.policy),
    ],
    contextValues: (req) => {
      const values = createContextValues();
      const socket = (req as IncomingMessage).socket;
      values.set(PEER_ADDRESS, socket.remoteAddress === undefined ? "unknown" : socket.remotePort === undefined ? socket.remoteAddress : `${socket.remoteAddress}:${socket.remotePort}`);
      return values;
    },
    ...(fallback ? { fallback: (req, res) => fallback(req as IncomingMessage, res as ServerResponse) } : {}),
  });
  const secure = o.tls ? nodeTlsOptions(o.tls, "server") : undefined;
  const sessions = new Set<ServerHttp2Session>();
  const server = secure
    ? createSecureServer({ ...secure, allowHTTP1: true }, (req: Http2ServerRequest, res: Http2ServerResponse) => {
        req.headers[PEER] = req.socket.remoteAddress ?? "unknown";
        dropOverlongDeadlines(req.headers);
        handler(req, res);
      }).on("session", (s: ServerHttp2Session) => {
        sessions.add(s);
        s.once("close", () => sessions.delete(s));
      })
    : createServer((req: IncomingMessage, res: ServerResponse) => {
        req.headers[PEER] = req.socket.remoteAddress ?? "unknown";
        dropOverlongDeadlines(req.headers);
        handler(req, res);
      });
  const sockets = new Set<Socket>();
  if (secure) server.on("secureConnection", (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  return {
    url: `${secure ? "https" : "http"}://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ("closeAllConnections" in server) server.closeAllConnections();
        for (const s of sessions) s.destroy();
        for (const s of sockets) s.destroy();
      }),
  };
}

/**
 * connect-node's `connectNodeAdapter` (2.1.1: the same router, the same gzip/brotli and the same
 * universal request/response conversion), with each route's handler wrapped so that an unreadable
 * request is INVALID_ARGUMENT rather than INTERNAL (./web-server-parse-errors.ts).
 */
function nodeHandler(
  services: readonly WebService[],
  o: ConnectRouterOptions & { readonly contextValues: (req: IncomingMessage | Http2ServerRequest) => ContextValues; readonly fallback?: (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void },
): (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void {
  const router = createConnectRouter({ acceptCompression: [compressionGzip, compressionBrotli], ...o });
  for (const s of services) router.service(s.service, s.impl);
  const paths = new Map<string, UniversalHandler>(router.handlers.map((h) => [h.requestPath, invalidArgumentOnParseErrors(h)]));
  return (req, res) => {
    const h = paths.get(req.url?.split("?", 2)[0] ?? "");
    if (h === undefined) {
      if (o.fallback) o.fallback(req, res);
      else {
        res.writeHead(404);
        res.end();
      }
      return;
    }
    h(universalRequestFromNodeRequest(req, res, undefined, o.contextValues(req)))
      .then((ures) => universalResponseToNodeResponse(ures, res))
      .catch((reason: unknown) => {
        // Aborted: the client went away. Anything else (a handler that failed outside the protocol, a
        // failed write) leaves a response that cannot be completed: the connection is closed.
        if (ConnectError.from(reason).code !== Code.Aborted) res.destroy();
      });
  };
}

/** The gRPC port's per-caller caps and unary deadline, as a Connect interceptor. */
function policyInterceptor(policy: CallPolicy): Interceptor {
  const unary = new CallerSlots(policy.maxConcurrentPerCaller);
  const streams = new CallerSlots(policy.maxStreamsPerCaller);
  return (next) => async (req) => {
    const named = req.header.get("shoal-caller");
    const caller = named ? `name:${named.slice(0, 64)}` : `web:${req.header.get(PEER) ?? "unknown"}`;
    if (req.stream) {
      if (!streams.tryTake(caller)) throw new ConnectError(`more than ${policy.maxStreamsPerCaller} open streams from ${caller}`, Code.ResourceExhausted);
      let res;
      try {
        res = await next(req);
      } catch (e) {
        streams.give(caller);
        throw e;
      }
      if (!res.stream) {
        streams.give(caller);
        return res;
      }
      const inner = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* inner;
          } finally {
            streams.give(caller);
          }
        })(),
      };
    }
    if (!unary.tryTake(caller)) throw new ConnectError(`more than ${policy.maxConcurrentPerCaller} calls in flight from ${caller}`, Code.ResourceExhausted);
    let timer: NodeJS.Timeout | undefined;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ConnectError(`${req.method.name} took longer than ${policy.timeoutMs} ms`, Code.DeadlineExceeded)), policy.timeoutMs);
      });
      return await Promise.race([next(req), deadline]);
    } finally {
      clearTimeout(timer);
      unary.give(caller);
    }
  };
}
