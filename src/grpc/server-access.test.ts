import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { HealthImplementation, service as healthService } from "grpc-health-check";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAccessCheck } from "../access/index.js";
import { AdminService, DrainNodeRequestSchema, DrainNodeResponseSchema, GetInfoRequestSchema, GetInfoResponseSchema } from "../gen/shoal/v1/admin_pb.js";
import type { AuditEvent } from "../ports/audit.js";
import { accessServerInterceptor } from "./server-access.js";
import { grpcServiceDefinition } from "./service-definition.js";

const VIEWER = "v".repeat(24);
const OPERATOR = "o".repeat(24);
const access = createAccessCheck([
  { name: "watcher", role: "viewer", token: VIEWER },
  { name: "oncall", role: "operator", token: OPERATOR },
]);
const events: AuditEvent[] = [];
let handled = 0;

type Unary = (req: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void;

/** A server of plain grpc-js handlers (as the model gateway's) guarded by the interceptor. */
describe("access check and audit as a grpc-js server interceptor", () => {
  let server: grpc.Server;
  let client: grpc.Client & Record<string, Unary>;
  let address: string;
  beforeAll(async () => {
    server = new grpc.Server({ interceptors: [accessServerInterceptor({ access, audit: { record: async (e) => void events.push(e) }, services: [AdminService] })] });
    server.addService(grpcServiceDefinition(AdminService), {
      GetInfo: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => (handled++, cb(null, create(GetInfoResponseSchema, { nodeId: "n1" }))),
      DrainNode: (call: grpc.ServerUnaryCall<{ nodeId: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        handled++;
        if (call.request.nodeId === "") cb({ code: grpc.status.INVALID_ARGUMENT, details: "node_id is required" });
        else cb(null, create(DrainNodeResponseSchema));
      },
    });
    new HealthImplementation({ "": "SERVING" }).addToServer(server);
    const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    address = `127.0.0.1:${port}`;
    const Client = grpc.makeGenericClientConstructor(grpcServiceDefinition(AdminService), "AdminService");
    client = new Client(address, grpc.credentials.createInsecure()) as unknown as typeof client;
  });
  afterAll(() => {
    client.close();
    server.forceShutdown();
  });
  beforeEach(() => {
    events.splice(0);
    handled = 0;
  });
  const call = (method: string, req: unknown, token?: string) =>
    new Promise<string>((resolve) => {
      const md = new grpc.Metadata();
      if (token !== undefined) md.set("authorization", `Bearer ${token}`);
      (client[method] as Unary).call(client, req, md, { deadline: Date.now() + 5000 }, (e) => resolve(e ? grpc.status[e.code] : "OK"));
    });

  it("refuses before the handler runs; records the audited calls of authenticated callers with their outcome", async () => {
    expect(await call("GetInfo", create(GetInfoRequestSchema))).toBe("UNAUTHENTICATED");
    expect(await call("DrainNode", create(DrainNodeRequestSchema, { nodeId: "n1" }), VIEWER)).toBe("PERMISSION_DENIED");
    expect(handled).toBe(0);
    expect(await call("GetInfo", create(GetInfoRequestSchema), VIEWER)).toBe("OK");
    expect(await call("DrainNode", create(DrainNodeRequestSchema, { nodeId: "n1", drain: true }), OPERATOR)).toBe("OK");
    expect(await call("DrainNode", create(DrainNodeRequestSchema), OPERATOR)).toBe("INVALID_ARGUMENT");
    expect(handled).toBe(3);
    expect(events.map((e) => [e.actor, e.action, e.target, e.outcome])).toEqual([
      ["watcher", "shoal.v1.AdminService/DrainNode", "", "permission_denied"],
      ["oncall", "shoal.v1.AdminService/DrainNode", "node/n1", "ok"],
      ["oncall", "shoal.v1.AdminService/DrainNode", "", "invalid_argument"],
    ]);
    expect(events[1]).toMatchObject({ actorRole: "operator", details: { nodeId: "n1", drain: true } });
    expect(events[1]!.source).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("leaves health open", async () => {
    const Health = grpc.makeGenericClientConstructor(healthService, "Health");
    const h = new Health(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { check(req: { service: string }, cb: (e: grpc.ServiceError | null, r: { status: string }) => void): void };
    const status = await new Promise<string>((res, rej) => h.check({ service: "" }, (e, r) => (e ? rej(e) : res(r.status))));
    h.close();
    expect(status).toBe("SERVING");
  });
});
