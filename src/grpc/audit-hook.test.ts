import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAccessCheck } from "../access/index.js";
import { AdminService, DrainNodeRequestSchema, GetInfoRequestSchema, RestartWorkerRequestSchema } from "../gen/shoal/v1/admin_pb.js";
import type { AuditEvent, AuditLog } from "../ports/audit.js";
import { grpcHandlersOf, type CallPolicy } from "./connect-on-grpc.js";
import { grpcServiceDefinition } from "./service-definition.js";
import { startWebServer, webService, type WebServer } from "./web-server.js";

const VIEWER = "v".repeat(24);
const OPERATOR = "o".repeat(24);
const tokens = [
  { name: "watcher", role: "viewer", token: VIEWER },
  { name: "oncall", role: "operator", token: OPERATOR },
] as const;

/** DrainNode succeeds; RestartWorker fails with INVALID_ARGUMENT; GetInfo is a read. */
const impl = {
  getInfo: () => ({ nodeId: "n1" }),
  drainNode: () => ({}),
  restartWorker: () => {
    throw new ConnectError("no worker 9", Code.InvalidArgument);
  },
} as unknown as ServiceImpl<typeof AdminService>;

const events: AuditEvent[] = [];
const audit: AuditLog = { record: async (e) => void events.push(e) };
const policy: CallPolicy = { timeoutMs: 5000, maxConcurrentPerCaller: 8, maxStreamsPerCaller: 8, access: createAccessCheck(tokens), audit };

type Unary = (req: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void;

describe("audit hook on a gRPC port (connect-on-grpc)", () => {
  let server: grpc.Server;
  let client: grpc.Client & Record<string, Unary>;
  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(grpcServiceDefinition(AdminService), grpcHandlersOf(AdminService, impl, policy));
    const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    const Client = grpc.makeGenericClientConstructor(grpcServiceDefinition(AdminService), "AdminService");
    client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as typeof client;
  });
  afterAll(() => {
    client.close();
    server.forceShutdown();
  });
  beforeEach(() => void events.splice(0));
  const call = (method: string, req: unknown, token?: string) =>
    new Promise<string>((resolve) => {
      const md = new grpc.Metadata();
      if (token !== undefined) md.set("authorization", `Bearer ${token}`);
      (client[method] as Unary).call(client, req, md, { deadline: Date.now() + 5000 }, (e) => resolve(e ? grpc.status[e.code] : "OK"));
    });

  it("a mutating call records exactly one event with the caller, the peer, the target and the outcome", async () => {
    expect(await call("DrainNode", create(DrainNodeRequestSchema, { nodeId: "n1", drain: true }), OPERATOR)).toBe("OK");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor: "oncall", actorRole: "operator", action: "shoal.v1.AdminService/DrainNode", target: "node/n1", outcome: "ok", details: { nodeId: "n1", drain: true } });
    expect(events[0]!.source).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("a failed one records its code; a viewer's attempt is recorded as permission_denied; reads and calls without a token are not recorded", async () => {
    expect(await call("RestartWorker", create(RestartWorkerRequestSchema, { index: 9 }), OPERATOR)).toBe("INVALID_ARGUMENT");
    expect(await call("DrainNode", create(DrainNodeRequestSchema, { nodeId: "n2" }), VIEWER)).toBe("PERMISSION_DENIED");
    expect(await call("DrainNode", create(DrainNodeRequestSchema, { nodeId: "n3" }))).toBe("UNAUTHENTICATED");
    expect(await call("GetInfo", create(GetInfoRequestSchema), OPERATOR)).toBe("OK");
    expect(events.map((e) => [e.actor, e.action, e.target, e.outcome])).toEqual([
      ["oncall", "shoal.v1.AdminService/RestartWorker", "worker/9", "invalid_argument"],
      ["watcher", "shoal.v1.AdminService/DrainNode", "node/n2", "permission_denied"],
    ]);
  });
});

describe("audit hook on the HTTP port (Connect interceptor)", () => {
  let web: WebServer;
  beforeAll(async () => {
    web = await startWebServer([webService(AdminService, impl)], { host: "127.0.0.1", port: 0, policy });
  });
  afterAll(() => web.close());
  beforeEach(() => void events.splice(0));
  const client = (token?: string) => {
    const auth: Interceptor = (next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req));
    return createClient(AdminService, createConnectTransport({ baseUrl: web.url, httpVersion: "1.1", interceptors: token === undefined ? [] : [auth] }));
  };
  const code = (p: Promise<unknown>) => p.then(() => "ok", (e: unknown) => Code[ConnectError.from(e).code]);

  it("records the same events as the gRPC port, with the socket's peer as source (a client's header cannot set it)", async () => {
    const spoof: Interceptor = (next) => (req) => (req.header.set("x-shoal-peer", "10.9.9.9"), next(req));
    const c = createClient(AdminService, createConnectTransport({ baseUrl: web.url, httpVersion: "1.1", interceptors: [spoof, (next) => (req) => (req.header.set("authorization", `Bearer ${OPERATOR}`), next(req))] }));
    expect(await code(c.drainNode({ nodeId: "n1", drain: true }))).toBe("ok");
    expect(await code(client(OPERATOR).restartWorker({ index: 9 }))).toBe("InvalidArgument");
    expect(await code(client(VIEWER).drainNode({ nodeId: "n2" }))).toBe("PermissionDenied");
    expect(await code(client().drainNode({ nodeId: "n3" }))).toBe("Unauthenticated");
    expect(await code(client(VIEWER).getInfo({}))).toBe("ok");
    expect(events.map((e) => [e.actor, e.actorRole, e.action, e.target, e.outcome])).toEqual([
      ["oncall", "operator", "shoal.v1.AdminService/DrainNode", "node/n1", "ok"],
      ["oncall", "operator", "shoal.v1.AdminService/RestartWorker", "worker/9", "invalid_argument"],
      ["watcher", "viewer", "shoal.v1.AdminService/DrainNode", "node/n2", "permission_denied"],
    ]);
    for (const e of events) expect(e.source).toMatch(/^(::ffff:)?127\.0\.0\.1:\d+$/);
    expect(events[0]!.details).toEqual({ nodeId: "n1", drain: true });
  });
});
