import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ListDevicesResponseSchema, QueryService } from "../gen/shoal/v1/query_pb.js";
import { startWebServer, type WebServer, type WebService } from "./web-server.js";

/** ListDevices answers an empty list; WatchDevice ends at once. */
const impl = {
  listDevices: async () => create(ListDevicesResponseSchema, { devices: [] }),
  watchDevice: async function* () {},
} as unknown as WebService["impl"];

/** Field 1 (length-delimited) says 5 bytes follow; 1 does: protobuf-es refuses it ("premature EOF"). */
const TRUNCATED = Buffer.from([0x0a, 0x05, 0x61]);
const REASON = /^the request is not a valid shoal\.v1\.(ListDevicesRequest|WatchDeviceRequest): premature EOF/;

function envelope(flags: number, data: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h[0] = flags;
  h.writeUInt32BE(data.length, 1);
  return Buffer.concat([h, data]);
}

/** The envelopes of a body. */
function envelopes(body: Buffer): Array<{ flags: number; data: Buffer }> {
  const out: Array<{ flags: number; data: Buffer }> = [];
  for (let at = 0; at + 5 <= body.length; ) {
    const len = body.readUInt32BE(at + 1);
    out.push({ flags: body[at]!, data: body.subarray(at + 5, at + 5 + len) });
    at += 5 + len;
  }
  return out;
}

const post = (url: string, contentType: string, body: Buffer) => fetch(url, { method: "POST", headers: { "content-type": contentType, "connect-protocol-version": "1" }, body });

describe("the web port answers an unreadable request INVALID_ARGUMENT with the reason (not connect-node's INTERNAL)", () => {
  let web: WebServer;
  let plain: Server;
  let plainUrl = "";
  beforeAll(async () => {
    web = await startWebServer([{ service: QueryService, impl }], { host: "127.0.0.1", port: 0, policy: { timeoutMs: 5000, maxConcurrentPerCaller: 8, maxStreamsPerCaller: 8 } });
    // connect-node as it is, to show what the web port changes.
    plain = createServer(connectNodeAdapter({ routes: (r) => void r.service(QueryService, impl as never) }));
    await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
    plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await web.close();
    await new Promise((r) => plain.close(r));
  });

  it("Connect unary: HTTP 400 invalid_argument (connect-node alone: 500 internal \"parse binary\")", async () => {
    const before = await post(`${plainUrl}/shoal.v1.QueryService/ListDevices`, "application/proto", TRUNCATED);
    expect([before.status, await before.json()]).toEqual([500, { code: "internal", message: expect.stringMatching(/^parse binary: premature EOF/) }]);
    const res = await post(`${web.url}/shoal.v1.QueryService/ListDevices`, "application/proto", TRUNCATED);
    const body = (await res.json()) as { code: string; message: string };
    expect(res.status).toBe(400);
    expect(res.headers.get("content-length")).toBe(String(Buffer.byteLength(JSON.stringify(body))));
    expect(body).toEqual({ code: "invalid_argument", message: expect.stringMatching(REASON) });
  });

  it("gRPC-web: trailer grpc-status 3 with the reason", async () => {
    const res = await post(`${web.url}/shoal.v1.QueryService/ListDevices`, "application/grpc-web+proto", envelope(0, TRUNCATED));
    const trailer = envelopes(Buffer.from(await res.arrayBuffer())).find((e) => e.flags === 0x80)!.data.toString("utf8");
    expect(/grpc-status: (\d+)/.exec(trailer)?.[1]).toBe("3");
    expect(decodeURIComponent(/grpc-message: ([^\r\n]*)/.exec(trailer)?.[1] ?? "")).toMatch(REASON);
  });

  it("Connect server streaming: the end-stream message says invalid_argument", async () => {
    const res = await post(`${web.url}/shoal.v1.QueryService/WatchDevice`, "application/connect+proto", envelope(0, TRUNCATED));
    const end = envelopes(Buffer.from(await res.arrayBuffer())).find((e) => e.flags === 0x02)!;
    expect(JSON.parse(end.data.toString("utf8"))).toEqual({ error: { code: "invalid_argument", message: expect.stringMatching(REASON) } });
  });

  it("leaves readable requests and other answers alone", async () => {
    const ok = await post(`${web.url}/shoal.v1.QueryService/ListDevices`, "application/proto", Buffer.alloc(0));
    expect(ok.status).toBe(200);
    const json = await post(`${web.url}/shoal.v1.QueryService/ListDevices`, "application/json", Buffer.from("{nope"));
    expect([json.status, ((await json.json()) as { code: string }).code]).toEqual([400, "invalid_argument"]);
    const missing = await post(`${web.url}/shoal.v1.QueryService/NoSuchMethod`, "application/proto", Buffer.alloc(0));
    expect(missing.status).toBe(404);
  });
});
