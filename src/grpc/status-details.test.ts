import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { QueryService } from "../gen/shoal/v1/query_pb.js";
import { startWebServer, type WebServer, type WebService } from "./web-server.js";
import { createGrpcServer } from "./malformed-request.js";
import { MAX_STATUS_DETAILS, boundDetails } from "./status-details.js";

/** A raw-bytes unary method: an empty request is answered OK after 300 ms, one of n bytes fails with n × 1,000 characters. */
const DEF = {
  m: { path: "/t.S/M", requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b },
};
type Client = { m: (b: Buffer, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Buffer) => void) => void; close(): void };

describe("status messages of Shoal's grpc-js servers are bounded", () => {
  let server: grpc.Server;
  let client: Client;
  beforeAll(async () => {
    server = createGrpcServer();
    server.addService(DEF as never, {
      m: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const n = call.request.length;
        if (n === 0) setTimeout(() => cb(null, Buffer.from("ok")), 300);
        else cb({ code: grpc.status.INVALID_ARGUMENT, details: `unknown device "${"é".repeat(n * 1000)}"` } as grpc.ServiceError);
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const C = grpc.makeGenericClientConstructor(DEF as never, "S");
    client = new C(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Client;
  });
  afterAll(() => {
    client?.close();
    server?.forceShutdown();
  });

  const call = (b: Buffer) =>
    new Promise<{ code: number; details: string }>((resolve) =>
      client.m(b, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (e, r) => resolve(e ? { code: e.code, details: e.details } : { code: 0, details: String(r) })),
    );

  it("a 100,000-character message arrives cut, with its code, and the other call on the connection completes", async () => {
    // Unbounded, such a grpc-message header made this call and the other one wait out their deadlines.
    const other = call(Buffer.alloc(0));
    const big = await call(Buffer.alloc(100));
    expect(big.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(big.details.startsWith('unknown device "éé')).toBe(true);
    expect(big.details.endsWith("… (98017 more characters left out)")).toBe(true);
    expect(await other).toEqual({ code: 0, details: "ok" });
  });

  it("boundDetails leaves short messages alone", () => {
    expect(boundDetails("short")).toBe("short");
    expect(boundDetails("x".repeat(MAX_STATUS_DETAILS))).toHaveLength(MAX_STATUS_DETAILS);
  });
});

describe("error messages of the Connect / gRPC-web port are bounded", () => {
  let web: WebServer;
  beforeAll(async () => {
    const impl = {
      listDevices: () => {
        throw new ConnectError(`unknown device "${"x".repeat(100_000)}"`, Code.InvalidArgument);
      },
    } as unknown as WebService["impl"];
    web = await startWebServer([{ service: QueryService, impl }], { host: "127.0.0.1", port: 0, policy: { timeoutMs: 5000, maxConcurrentPerCaller: 4, maxStreamsPerCaller: 1 } });
  });
  afterAll(() => web?.close());

  it("a gRPC-web client (trailers-only answer: the message in the HTTP headers) gets the code and the cut message", async () => {
    for (const transport of [createGrpcWebTransport({ baseUrl: web.url, httpVersion: "1.1" }), createConnectTransport({ baseUrl: web.url, httpVersion: "1.1" })]) {
      const err = await createClient(QueryService, transport)
        .listDevices({})
        .then(() => undefined, (e: unknown) => ConnectError.from(e));
      expect(err?.code).toBe(Code.InvalidArgument);
      expect(err?.rawMessage.endsWith("… (98017 more characters left out)")).toBe(true);
    }
  });
});
