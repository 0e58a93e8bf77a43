import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type HandlerContext, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CALLER, createAccessCheck, type AccessCheck } from "../access/index.js";
import { AdminService, DrainNodeRequestSchema, GetInfoRequestSchema, WatchClusterRequestSchema, type GetInfoResponse, type WatchClusterResponse } from "../gen/shoal/v1/admin_pb.js";
import { grpcHandlersOf, type CallPolicy } from "./connect-on-grpc.js";
import { grpcServiceDefinition } from "./service-definition.js";
import { startWebServer, webService, type WebServer } from "./web-server.js";

const VIEWER = "v".repeat(24);
const OPERATOR = "o".repeat(24);
const tokens = [
  { name: "watcher", role: "viewer", token: VIEWER },
  { name: "oncall", role: "operator", token: OPERATOR },
] as const;

/** An AdminService whose GetInfo and WatchCluster tell who called (the CALLER context value), "-" when unset. */
const who = (ctx: HandlerContext) => ctx.values.get(CALLER);
const impl = {
  getInfo: (_req: unknown, ctx: HandlerContext) => ({ callerName: who(ctx)?.name ?? "-", callerRole: who(ctx)?.role ?? "-" }),
  drainNode: () => ({}),
  async *watchCluster(_req: unknown, ctx: HandlerContext) {
    yield { info: { callerName: who(ctx)?.name ?? "-" } };
  },
} as unknown as ServiceImpl<typeof AdminService>;

const policy = (access?: AccessCheck): CallPolicy => ({ timeoutMs: 5000, maxConcurrentPerCaller: 8, maxStreamsPerCaller: 8, ...(access ? { access } : {}) });
const bearer = (t: string) => `Bearer ${t}`;

describe("access on the web port (Connect interceptor)", () => {
  let enforced: WebServer;
  let open: WebServer;
  let unchecked: WebServer;
  beforeAll(async () => {
    [enforced, open, unchecked] = await Promise.all([
      startWebServer([webService(AdminService, impl)], { host: "127.0.0.1", port: 0, policy: policy(createAccessCheck(tokens)) }),
      startWebServer([webService(AdminService, impl)], { host: "127.0.0.1", port: 0, policy: policy(createAccessCheck([])) }),
      startWebServer([webService(AdminService, impl)], { host: "127.0.0.1", port: 0, policy: policy() }),
    ]);
  });
  afterAll(() => Promise.all([enforced.close(), open.close(), unchecked.close()]));

  const client = (url: string, token?: string, grpcWeb = false) => {
    const auth: Interceptor = (next) => (req) => (req.header.set("authorization", bearer(token!)), next(req));
    const interceptors = token === undefined ? [] : [auth];
    const transport = (grpcWeb ? createGrpcWebTransport : createConnectTransport)({ baseUrl: url, httpVersion: "1.1", interceptors });
    return createClient(AdminService, transport);
  };
  const code = (p: Promise<unknown>) => p.then(() => "ok", (e: unknown) => ConnectError.from(e).code);

  it("no token or an unknown one is Unauthenticated, for unary calls and streams, over Connect and gRPC-web", async () => {
    for (const grpcWeb of [false, true]) {
      expect(await code(client(enforced.url, undefined, grpcWeb).getInfo({}))).toBe(Code.Unauthenticated);
      expect(await code(client(enforced.url, "x".repeat(24), grpcWeb).getInfo({}))).toBe(Code.Unauthenticated);
      const stream = client(enforced.url, undefined, grpcWeb).watchCluster({});
      const drain = async () => {
        for await (const _ of stream) void _;
      };
      expect(await code(drain())).toBe(Code.Unauthenticated);
    }
  });

  it("a viewer reads and is told who it is; its writes are PermissionDenied; an operator may", async () => {
    expect(await client(enforced.url, VIEWER).getInfo({})).toMatchObject({ callerName: "watcher", callerRole: "viewer" });
    const err = await client(enforced.url, VIEWER, true).drainNode({ nodeId: "n1", drain: true }).catch((e: unknown) => ConnectError.from(e));
    expect(err).toMatchObject({ code: Code.PermissionDenied, rawMessage: "DrainNode needs the operator role; watcher is viewer" });
    expect(await code(client(enforced.url, OPERATOR).drainNode({ nodeId: "n1", drain: true }))).toBe("ok");
    const seen: string[] = [];
    for await (const m of client(enforced.url, OPERATOR, true).watchCluster({})) seen.push(m.info?.callerName ?? "");
    expect(seen).toEqual(["oncall"]);
  });

  it("without tokens every caller is anonymous admin; without an access check CALLER is not set", async () => {
    expect(await client(open.url).getInfo({})).toMatchObject({ callerName: "anonymous", callerRole: "admin" });
    expect(await code(client(open.url).drainNode({ nodeId: "n1" }))).toBe("ok");
    expect(await client(unchecked.url).getInfo({})).toMatchObject({ callerName: "-", callerRole: "-" });
  });
});

type Unary = (req: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void;
type Streaming = (req: unknown, md: grpc.Metadata) => grpc.ClientReadableStream<unknown>;

describe("access on the gRPC ports (grpcHandlersOf)", () => {
  let server: grpc.Server;
  let client: grpc.Client & Record<string, Unary & Streaming>;
  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(grpcServiceDefinition(AdminService), grpcHandlersOf(AdminService, impl, policy(createAccessCheck(tokens))));
    const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    const Client = grpc.makeGenericClientConstructor(grpcServiceDefinition(AdminService), "AdminService");
    client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as typeof client;
  });
  afterAll(() => {
    client.close();
    server.forceShutdown();
  });
  const md = (token?: string) => {
    const m = new grpc.Metadata();
    if (token !== undefined) m.set("authorization", bearer(token));
    return m;
  };
  const unary = <T>(method: string, req: unknown, token?: string) =>
    new Promise<T>((resolve, reject) => (client[method] as Unary).call(client, req, md(token), { deadline: Date.now() + 5000 }, (e, r) => (e ? reject(e) : resolve(r as T))));
  const stream = (token?: string) =>
    new Promise<WatchClusterResponse[]>((resolve, reject) => {
      const got: WatchClusterResponse[] = [];
      const s = (client["WatchCluster"] as Streaming).call(client, create(WatchClusterRequestSchema), md(token)) as grpc.ClientReadableStream<WatchClusterResponse>;
      s.on("data", (m: WatchClusterResponse) => got.push(m));
      s.on("error", reject);
      s.on("end", () => resolve(got));
    });

  it("refuses a missing token (UNAUTHENTICATED) and a small role (PERMISSION_DENIED); answers with the caller in the context", async () => {
    await expect(unary("GetInfo", create(GetInfoRequestSchema))).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    await expect(stream()).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(await unary<GetInfoResponse>("GetInfo", create(GetInfoRequestSchema), VIEWER)).toMatchObject({ callerName: "watcher", callerRole: "viewer" });
    await expect(unary("DrainNode", create(DrainNodeRequestSchema, { nodeId: "n1" }), VIEWER)).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: "DrainNode needs the operator role; watcher is viewer" });
    await expect(unary("DrainNode", create(DrainNodeRequestSchema, { nodeId: "n1" }), OPERATOR)).resolves.toBeDefined();
    expect((await stream(VIEWER)).map((m) => m.info?.callerName)).toEqual(["watcher"]);
  });
});
