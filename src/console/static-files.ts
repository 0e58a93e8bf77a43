import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { basename, extname, resolve, sep } from "node:path";

/** Content types of the files an esbuild build of the app writes (anything else: application/octet-stream). */
const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".webmanifest": "application/manifest+json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".wasm": "application/wasm",
};

/** The content type of a file name. */
export function contentTypeOf(name: string): string {
  return TYPES[extname(name).toLowerCase()] ?? "application/octet-stream";
}

/**
 * esbuild's `[name].[hash]` (scripts/build-console.mjs) and `[name]-[hash]` (its default for
 * chunks) names: 8+ upper-case base32 characters before the extension. Such a file never changes.
 */
const HASHED = /[.-][A-Z0-9]{8,}\.[A-Za-z0-9]+$/;

/** Cache-Control of a file: hashed assets for a year (immutable), everything else (index.html first) revalidated every time. */
export function cacheControlOf(name: string): string {
  return HASHED.test(name) ? "public, max-age=31536000, immutable" : "no-cache";
}

/** The page answered (503) while the app is not built. */
export const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shoal console: not built</title></head>
<body style="font-family: sans-serif; margin: 3em">
<h1>Shoal console</h1>
<p>Not available yet: the console app is not built: run npm run build:console (it writes dist/console/), then reload this page.</p>
<p>The services answer meanwhile (gRPC-web and Connect on this port).</p>
</body></html>
`;

/**
 * The request path as a path relative to the app's folder, or why not: 400 for a path that does
 * not decode or holds a NUL or a backslash, 403 for a `..` or dot-file segment (never served:
 * no directory traversal, whatever the encoding). "/" is "index.html".
 */
export function relativePathOf(url: string): { readonly path: string } | { readonly status: 400 | 403 } {
  const raw = url.split(/[?#]/, 1)[0] ?? "/";
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return { status: 400 };
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return { status: 400 };
  const segments = decoded.split("/").filter((s) => s !== "");
  if (segments.some((s) => s.startsWith("."))) return { status: 403 };
  return { path: segments.length === 0 ? "index.html" : segments.join("/") };
}

/**
 * Serves the built console app from `dir` (GET and HEAD only: 405 otherwise): `/` is index.html,
 * content types by extension, `Cache-Control: no-cache` for index.html (and any unhashed file),
 * a year for hashed assets. No file outside `dir` is ever served (403). While `dir/index.html` is
 * missing every request is a 503 page saying how to build the app (checked per request: a build
 * made after start is served at once).
 */
export function createStaticHandler(dir: string): (req: IncomingMessage, res: ServerResponse) => void {
  const root = resolve(dir);
  const send = (res: ServerResponse, status: number, body: string, type = "text/plain; charset=utf-8", head = false) => {
    res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff" });
    res.end(head ? undefined : body);
  };
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? "GET";
    if (method !== "GET" && method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return send(res, 405, "method not allowed: the console's files answer GET and HEAD\n");
    }
    const head = method === "HEAD";
    const rel = relativePathOf(req.url ?? "/");
    if ("status" in rel) return send(res, rel.status, rel.status === 400 ? "bad path\n" : "forbidden\n", undefined, head);
    const file = resolve(root, rel.path);
    if (!file.startsWith(root + sep)) return send(res, 403, "forbidden\n", undefined, head);
    const index = await stat(resolve(root, "index.html")).catch(() => undefined);
    if (index === undefined || !index.isFile()) return send(res, 503, NOT_BUILT_PAGE, TYPES[".html"], head);
    const st = await stat(file).catch(() => undefined);
    if (st === undefined || !st.isFile()) return send(res, 404, "not found\n", undefined, head);
    res.writeHead(200, {
      "Content-Type": contentTypeOf(file),
      "Content-Length": st.size,
      "Cache-Control": cacheControlOf(basename(file)),
      "Last-Modified": st.mtime.toUTCString(),
      "X-Content-Type-Options": "nosniff",
    });
    if (head) return void res.end();
    const stream = createReadStream(file);
    stream.on("error", () => res.destroy());
    stream.pipe(res);
  };
  return (req, res) => {
    serve(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, "internal error\n");
      else res.destroy();
    });
  };
}
