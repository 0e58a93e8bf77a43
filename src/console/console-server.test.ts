import { request } from "node:http";
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheControlOf, contentTypeOf, relativePathOf } from "./static-files.js";
import { startConsoleServer, type ConsoleServer } from "./console-server.js";

/** A raw HTTP request (fetch would normalise `..` away before sending it). */
function raw(url: string, path: string, method = "GET"): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("static files of the console", () => {
  const root = mkdtempSync(join(tmpdir(), "shoal-console-"));
  const app = join(root, "app");
  let server: ConsoleServer;
  beforeAll(async () => {
    mkdirSync(join(app, "assets"), { recursive: true });
    writeFileSync(join(app, "index.html"), "<!doctype html><title>console</title>");
    writeFileSync(join(app, "app.5XJ2KQ3T.js"), "console.log(1)");
    writeFileSync(join(app, "assets", "style.css"), "body{}");
    writeFileSync(join(app, "logo.svg"), "<svg/>");
    writeFileSync(join(app, ".env"), "SECRET=1");
    writeFileSync(join(root, "secret.txt"), "outside the app");
    server = await startConsoleServer([], { host: "127.0.0.1", port: 0, policy: { timeoutMs: 1000, maxConcurrentPerCaller: 4, maxStreamsPerCaller: 4 }, appDir: app });
  });
  afterAll(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("serves index.html for / (not cached) and files with their types; hashed assets are cached for a year", async () => {
    const index = await raw(server.url, "/");
    expect(index).toMatchObject({ status: 200, body: "<!doctype html><title>console</title>" });
    expect(index.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(index.headers["cache-control"]).toBe("no-cache");
    const js = await raw(server.url, "/app.5XJ2KQ3T.js?v=1");
    expect(js).toMatchObject({ status: 200, body: "console.log(1)" });
    expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(js.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    const css = await raw(server.url, "/assets/style.css");
    expect([css.status, css.headers["content-type"], css.headers["cache-control"]]).toEqual([200, "text/css; charset=utf-8", "no-cache"]);
    expect((await raw(server.url, "/logo.svg")).headers["content-type"]).toBe("image/svg+xml");
    const head = await raw(server.url, "/index.html", "HEAD");
    expect([head.status, head.body, head.headers["content-length"]]).toEqual([200, "", "37"]);
    expect((await raw(server.url, "/missing.js")).status).toBe(404);
    expect((await raw(server.url, "/assets")).status).toBe(404);
  });

  it("refuses every directory traversal and dot-file, however encoded", async () => {
    for (const p of ["/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/assets%2f..%2f..%2fsecret.txt", "/.env", "/%2eenv"]) {
      const r = await raw(server.url, p);
      expect(r.status, p).toBe(403);
      expect(r.body).not.toContain("outside the app");
    }
    for (const p of ["/%00index.html", "/..%5csecret.txt", "/%e0%a4%a"]) expect((await raw(server.url, p)).status, p).toBe(400);
  });

  it("answers GET and HEAD only; /healthz is 200", async () => {
    const post = await raw(server.url, "/", "POST");
    expect([post.status, post.headers["allow"]]).toEqual([405, "GET, HEAD"]);
    expect((await raw(server.url, "/index.html", "DELETE")).status).toBe(405);
    const health = await fetch(`${server.url}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, "ok\n"]);
  });

  it("says how to build the app (503) while index.html is missing, and serves it once built", async () => {
    unlinkSync(join(app, "index.html"));
    for (const p of ["/", "/app.5XJ2KQ3T.js"]) {
      const r = await raw(server.url, p);
      expect(r.status).toBe(503);
      expect(r.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(r.body).toContain("the console app is not built: run npm run build:console");
    }
    expect((await raw(server.url, "/healthz")).status).toBe(200);
    writeFileSync(join(app, "index.html"), "<!doctype html><title>console</title>");
    expect((await raw(server.url, "/")).status).toBe(200);
  });
});

describe("static file rules", () => {
  it("maps paths, types and cache headers", () => {
    expect(relativePathOf("/")).toEqual({ path: "index.html" });
    expect(relativePathOf("/a//b.js?x=1#y")).toEqual({ path: "a/b.js" });
    expect(relativePathOf("/a/%2e%2e/b")).toEqual({ status: 403 });
    expect(contentTypeOf("x.WOFF2")).toBe("font/woff2");
    expect(contentTypeOf("x.bin")).toBe("application/octet-stream");
    expect(cacheControlOf("chunk-ABCDEFGH.js")).toBe("public, max-age=31536000, immutable");
    expect(cacheControlOf("app.5XJ2KQ3T.css")).toBe("public, max-age=31536000, immutable");
    expect(cacheControlOf("app.js")).toBe("no-cache");
    expect(cacheControlOf("uplot-standalone.js")).toBe("no-cache");
    expect(cacheControlOf("index.html")).toBe("no-cache");
  });
});
