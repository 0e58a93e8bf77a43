import { createServer, request, type Server } from "node:http";

/** One request that passed through the proxy. */
export interface ProxiedRequest {
  readonly method: string;
  /** Path and query, URL-decoded (ClickHouse's HTTP interface carries the SQL in `query=`). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** An HTTP proxy in front of one server that records every request (method, URL, headers). */
export interface RecordingProxy {
  readonly url: string;
  readonly requests: ProxiedRequest[];
  close(): Promise<void>;
}

/**
 * Forward every request to `target` (bodies and answers streamed through unchanged) and record
 * it: lets a test see what a client sent to a real server (e.g. the headers of ClickHouse inserts).
 */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const t = new URL(target);
  const requests: ProxiedRequest[] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? "", url: decodeURIComponent((req.url ?? "").replace(/\+/g, " ")), headers: { ...req.headers } });
    const up = request({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers: { ...req.headers, host: t.host } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
