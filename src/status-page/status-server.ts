import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";
import { sleep } from "../base/clock.js";

/** What the status server serves. */
export interface StatusServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly registry: Registry;
  /** JSON of `/api/stats` (and of the page). */
  stats(): unknown;
  /** `/readyz`: 200 when true, else 503. */
  ready(): boolean;
  /** Why it is not ready, appended to the 503 body. */
  readyReason?(): string;
  /**
   * "" when healthy, else why the process is degraded (recent incidents: `degraded: journal.… 3s ago`).
   * `/healthz` stays 200 (the process is alive; restarting it would not help) and says it in its
   * body; `/api/stats` carries it as `health.degraded`.
   */
  degraded?(): string;
  /**
   * Called before each `/metrics` scrape (e.g. to read live runtime counters into gauges); a
   * failure or a wait over 2 s serves the metrics as they are.
   */
  refresh?(): Promise<void>;
}

/**
 * A small HTTP status server: `/` a live page of pipeline counters, `/api/stats` as JSON,
 * `/metrics` for Prometheus, `/healthz` (the process is up) and `/readyz`. The gRPC-web operator
 * console will be served from this port later; until then this page is what `shoal up` prints.
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
    } else if (path === "/api/stats") {
      const degraded = opts.degraded?.() ?? "";
      const body = opts.degraded === undefined ? opts.stats() : { ...(opts.stats() as object), health: { degraded } };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    } else if (path === "/healthz") {
      const degraded = opts.degraded?.() ?? "";
      res.writeHead(200).end(degraded === "" ? "ok" : `ok, ${degraded}`);
    } else if (path === "/readyz") {
      const ok = opts.ready();
      const why = ok ? "" : (opts.readyReason?.() ?? "");
      res.writeHead(ok ? 200 : 503).end(ok ? "ready" : `not ready${why ? `: ${why}` : ""}`);
    } else if (path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(PAGE);
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

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>Shoal</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;color:#123}table{border-collapse:collapse}td,th{padding:.3rem .8rem;border-bottom:1px solid #ddd;text-align:right}th{text-align:left}h2{margin-top:1.5rem}</style></head>
<body><h1>Shoal</h1><p>Live pipeline counters (refreshed every second). Prometheus metrics at <a href="/metrics">/metrics</a>.</p><div id="out">loading…</div>
<script>
async function tick(){try{const s=await (await fetch('/api/stats')).json();let h='';for(const [role,v] of Object.entries(s)){h+='<h2>'+role+'</h2><table>';for(const [k,x] of Object.entries(v))h+='<tr><th>'+k+'</th><td>'+(typeof x==='object'?JSON.stringify(x):x)+'</td></tr>';h+='</table>'}document.getElementById('out').innerHTML=h}catch(e){document.getElementById('out').textContent=String(e)}}
tick();setInterval(tick,1000);
</script></body></html>`;
