import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { create } from "@bufbuild/protobuf";
import { QueryService, ListDevicesResponseSchema } from "../gen/shoal/v1/query_pb.js";
import { sleep } from "../base/clock.js";
import { startWebServer, type WebServer, type WebService } from "./web-server.js";

/** A QueryService whose ListDevices takes as long as its id prefix says (ms). */
const slow = {
  listDevices: async (req: { idPrefix: string }) => {
    await sleep(Number(req.idPrefix || "0"));
    return create(ListDevicesResponseSchema, { devices: [] });
  },
} as unknown as WebService["impl"];

describe("web server (gRPC-web and Connect over HTTP/1.1)", () => {
  let web: WebServer;
  beforeAll(async () => {
    web = await startWebServer([{ service: QueryService, impl: slow }], { host: "127.0.0.1", port: 0, policy: { timeoutMs: 1500, maxConcurrentPerCaller: 2, maxStreamsPerCaller: 1 } });
  });
  afterAll(() => web.close());

  it("answers gRPC-web and Connect clients", async () => {
    for (const transport of [createGrpcWebTransport({ baseUrl: web.url, httpVersion: "1.1" }), createConnectTransport({ baseUrl: web.url, httpVersion: "1.1" })]) {
      expect((await createClient(QueryService, transport).listDevices({ idPrefix: "1" })).devices).toEqual([]);
    }
  });

  it("applies the call policy: a unary call longer than timeoutMs is DEADLINE_EXCEEDED", async () => {
    const c = createClient(QueryService, createConnectTransport({ baseUrl: web.url, httpVersion: "1.1" }));
    await expect(c.listDevices({ idPrefix: "5000" })).rejects.toMatchObject({ code: Code.DeadlineExceeded });
  });

  it("applies the call policy: more than maxConcurrentPerCaller calls of one caller are RESOURCE_EXHAUSTED, other callers go on", async () => {
    const as = (name: string) => createClient(QueryService, createConnectTransport({ baseUrl: web.url, httpVersion: "1.1", interceptors: [(next) => (req) => (req.header.set("shoal-caller", name), next(req))] }));
    const a = as("a");
    // Three calls of "a" at once, each held 1 s (well within the 1.5 s deadline): two run, one is refused.
    const results = await Promise.allSettled([a.listDevices({ idPrefix: "1000" }), a.listDevices({ idPrefix: "1000" }), a.listDevices({ idPrefix: "1000" }), as("b").listDevices({ idPrefix: "1000" })]);
    const outcome = results.map((r) => (r.status === "fulfilled" ? "ok" : (r.reason as { code: Code }).code));
    expect(outcome.slice(0, 3).sort()).toEqual(["ok", "ok", Code.ResourceExhausted].sort());
    expect(outcome[3]).toBe("ok");
    // The slots are given back.
    expect((await a.listDevices({ idPrefix: "1" })).devices).toEqual([]);
  });
});
