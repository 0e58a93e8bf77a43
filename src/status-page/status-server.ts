import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";
import { sleep } from "../base/clock.js";

/** What the status server serves. */
export interface StatusServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly registry: Registry;
  /** `/readyz`: 200 when true, else 503. */
  ready(): boolean;
  /** Why it is not ready, appended to the 503 body. */
  readyReason?(): string;
  /**
   * "" when healthy, else why the process is degraded (recent incidents: `degraded: journal.… 3s ago`).
   * `/healthz` stays 200 (the process is alive; restarting it would not help) and says it in its
   * body.
   */
  degraded?(): string;
  /**
   * Called before each `/metrics` scrape (e.g. to read live runtime counters into gauges); a
   * failure or a wait over 2 s serves the metrics as they are.
   */
  refresh?(): Promise<void>;
}

/**
 * A role's HTTP status server, for machines: `/metrics` for Prometheus, `/healthz` (the process is
 * up) and `/readyz`; `/` names them. Operators read the same counters in the console (a gRPC-web
 * app on `query.webPort`) and through AdminService (`shoal admin counters`): no JSON side API here.
 */
export function startStatusServer(opts: StatusServerOptions): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/metrics") {
      const refreshed = opts.refresh ? Promise.race([opts.refresh().catch(() => {}), sleep(2000)]) : Promise.resolve();
      refreshed
        .then(() => opts.registry.metrics())
        .then(
          (body) => res.writeHead(200, { "content-type": opts.registry.contentType }).end(body),
          (e: Error) => res.writeHead(500).end(e.message),
        );
    } else if (path === "/healthz") {
      const degraded = opts.degraded?.() ?? "";
      res.writeHead(200).end(degraded === "" ? "ok" : `ok, ${degraded}`);
    } else if (path === "/readyz") {
      const ok = opts.ready();
      const why = ok ? "" : (opts.readyReason?.() ?? "");
      res.writeHead(ok ? 200 : 503).end(ok ? "ready" : `not ready${why ? `: ${why}` : ""}`);
    } else if (path === "/") {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end(INDEX);
    } else {
      res.writeHead(404).end("not found");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      const a = server.address();
      const port = typeof a === "object" && a !== null ? a.port : opts.port;
      resolve({ server, url: `http://${opts.host}:${port}/` });
    });
  });
}

const INDEX = `Shoal status: /metrics (Prometheus), /healthz, /readyz.
The operators' console is served by \`shoal up\` and \`shoal console\` on query.webPort; counters also by AdminService (\`shoal admin counters\`).
`;
