import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One request the receiver got. */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The raw body (what a signature covers). */
  readonly body: string;
  /** The status it was answered with. */
  readonly status: number;
  readonly atMs: number;
}

/** A real HTTP server on a free loopback port recording every request (a webhook target of tests and benchmarks). */
export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>` (any path is accepted). */
  readonly url: string;
  /** Every request, in arrival order (answered ones; failed answers included). */
  readonly requests: ReceivedRequest[];
  /** Requests answered with a 2xx. */
  accepted(): ReceivedRequest[];
  /** Answer the next `k` requests with `status` (default 500), then OK again. */
  failNext(k: number, status?: number): void;
  /** Answer every request with `status` from now on (undefined: OK again). */
  failAlways(status: number | undefined): void;
  /** Answer every request `ms` after it arrived (0: at once). */
  respondAfter(ms: number): void;
  /** Resolves when `n` requests were accepted (rejects after `timeoutMs`, default 30 s). */
  waitForAccepted(n: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

/** Starts a webhook receiver on 127.0.0.1 (port 0: the OS picks a free one). */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  let failCount = 0;
  let failStatus = 500;
  let always: number | undefined;
  let delayMs = 0;
  let waiters: { n: number; resolve: () => void }[] = [];
  const accepted = () => requests.filter((r) => r.status >= 200 && r.status < 300);
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      let status = 200;
      if (always !== undefined) status = always;
      else if (failCount > 0) {
        failCount--;
        status = failStatus;
      }
      const answer = () => {
        requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: Buffer.concat(parts).toString("utf8"), status, atMs: Date.now() });
        res.writeHead(status, { "content-type": "text/plain" }).end(status === 200 ? "ok" : "failing on purpose");
        if (status === 200) {
          const n = accepted().length;
          waiters = waiters.filter((w) => (w.n <= n ? (w.resolve(), false) : true));
        }
      };
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    accepted,
    failNext(k, status = 500) {
      failCount = k;
      failStatus = status;
    },
    failAlways(status) {
      always = status;
    },
    respondAfter(ms) {
      delayMs = ms;
    },
    waitForAccepted(n, timeoutMs = 30_000) {
      if (accepted().length >= n) return Promise.resolve(accepted());
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`webhook receiver: ${accepted().length} of ${n} requests accepted after ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(t);
            resolve(accepted());
          },
        });
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
