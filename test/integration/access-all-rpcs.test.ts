import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DescFile, DescMethod, DescService } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { ConnectError, createClient, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { service as healthService } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCESS_TABLE, createAccessCheck, requiredRole, type Role } from "../../src/access/index.js";
import { DEFAULT_ADMIN_POLICY, startAdminServer, type AdminServer } from "../../src/admin/index.js";
import { addAlertService, ALERT_SERVICE_FILES, ALERT_SERVICE_NAME } from "../../src/alert-service/index.js";
import { startConsoleServer, type ConsoleServer } from "../../src/console/index.js";
import { createGateway, createGatewayClient, gatewayConfigSchema, startGatewayServer, type GatewayServer, type GatewayService } from "../../src/gateway/index.js";
import { AdminService } from "../../src/gen/shoal/v1/admin_pb.js";
import { AlertService } from "../../src/gen/shoal/v1/alert_pb.js";
import { addAuditService, AUDIT_SERVICE_FILES } from "../../src/audit-service/index.js";
import { addDeviceService, DEVICE_SERVICE_FILES } from "../../src/device-service/index.js";
import { AuditService } from "../../src/gen/shoal/v1/audit_pb.js";
import { DeviceCommandService, file_shoal_v1_command } from "../../src/gen/shoal/v1/command_pb.js";
import { ConfigService } from "../../src/gen/shoal/v1/config_pb.js";
import { DeviceService } from "../../src/gen/shoal/v1/device_pb.js";
import { ModelGatewayService } from "../../src/gen/shoal/v1/gateway_pb.js";
import { QueryService } from "../../src/gen/shoal/v1/query_pb.js";
import { grpcHandlersOf, type CallPolicy } from "../../src/grpc/connect-on-grpc.js";
import { grpcServiceDefinition } from "../../src/grpc/index.js";
import { webService } from "../../src/grpc/web-server.js";
import { startQueryServer, type QueryServer } from "../../src/query/index.js";

/**
 * Every RPC of every Shoal service, taken from the generated descriptors (so a new RPC is tested
 * the day it is generated): it must be classified in the access table, and on every port that
 * serves it — the query gRPC port (QueryService, AlertService, DeviceService, DeviceCommandService,
 * AuditService), the admin gRPC port, the model gateway's gRPC port and the console's HTTP port (Connect) — a call
 * without a token is UNAUTHENTICATED and a call by a role below the one it needs is
 * PERMISSION_DENIED. Requests are empty: the access check runs before anything reads them. The
 * implementations are stubs answering empty messages (the check is the servers'); the gateway is
 * the real local one.
 */
const TOKENS = { viewer: "viewer-token-0123456789", operator: "operator-token-0123456789", admin: "admin-token-0123456789" } as const satisfies Record<Role, string>;
const access = createAccessCheck(Object.entries(TOKENS).map(([role, token]) => ({ name: `${role}-caller`, role: role as Role, token })));
const BELOW: Record<Role, readonly Role[]> = { viewer: [], operator: ["viewer"], admin: ["viewer", "operator"] };

/** Every service of every generated shoal/v1 file (`file_shoal_v1_*` exports of src/gen/shoal/v1/*_pb.ts). */
async function generatedServices(): Promise<DescService[]> {
  const dir = fileURLToPath(new URL("../../src/gen/shoal/v1/", import.meta.url));
  const out: DescService[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith("_pb.ts")).sort()) {
    const mod = (await import(join(dir, f))) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) if (name.startsWith("file_shoal_v1_")) out.push(...(value as DescFile).services);
  }
  return out;
}

/** An implementation of `service` answering every unary method with an empty message and every stream with none. */
function stub<S extends DescService>(service: S): ServiceImpl<S> {
  const impl: Record<string, unknown> = {};
  for (const m of service.methods) {
    impl[m.localName] =
      m.methodKind === "server_streaming"
        ? async function* () {
            /* no messages */
          }
        : () => ({});
  }
  return impl as ServiceImpl<S>;
}

const policy: CallPolicy = { timeoutMs: 10_000, maxConcurrentPerCaller: 64, maxStreamsPerCaller: 64, access };

/** Calls `method` on a gRPC server with an empty request; resolves with the status name ("OK", "UNAUTHENTICATED", ...). */
function grpcCall(client: grpc.Client, service: DescService, method: DescMethod, token: string | undefined): Promise<string> {
  const path = `/${service.typeName}/${method.name}`;
  const md = new grpc.Metadata();
  if (token !== undefined) md.set("authorization", `Bearer ${token}`);
  const options = { deadline: Date.now() + 10_000 };
  const raw = (b: Buffer) => b;
  return new Promise((resolve) => {
    if (method.methodKind === "server_streaming") {
      const s = client.makeServerStreamRequest(path, raw, raw, Buffer.alloc(0), md, options);
      s.on("data", () => {});
      s.on("error", (e: grpc.ServiceError) => resolve(grpc.status[e.code]));
      s.on("end", () => resolve("OK"));
    } else {
      client.makeUnaryRequest(path, raw, raw, Buffer.alloc(0), md, options, (e) => resolve(e ? grpc.status[e.code] : "OK"));
    }
  });
}

/** Calls `method` over Connect with an empty request; resolves with the gRPC status name. */
async function connectCall(baseUrl: string, service: DescService, method: DescMethod, token: string | undefined): Promise<string> {
  const auth: Interceptor = (next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req));
  const client = createClient(service, createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors: token === undefined ? [] : [auth] })) as unknown as Record<string, (req: object) => unknown>;
  try {
    const res = client[method.localName]!({});
    if (method.methodKind === "server_streaming") for await (const _ of res as AsyncIterable<unknown>) void _;
    else await res;
    return "OK";
  } catch (e) {
    return grpc.status[ConnectError.from(e).code as number as grpc.status];
  }
}

interface Port {
  readonly name: string;
  readonly services: readonly DescService[];
  call(service: DescService, method: DescMethod, token: string | undefined): Promise<string>;
}

describe("every RPC of every service checks the token and the role", () => {
  let all: DescService[];
  let query: QueryServer;
  let admin: AdminServer;
  let gw: GatewayService;
  let gateway: GatewayServer;
  let web: ConsoleServer;
  const clients: grpc.Client[] = [];
  const appDir = mkdtempSync(join(tmpdir(), "shoal-access-"));
  let ports: Port[];

  beforeAll(async () => {
    all = await generatedServices();
    const extra = (s: DescService, files: readonly DescFile[]) => ({ name: s.typeName, files, add: (server: grpc.Server) => server.addService(grpcServiceDefinition(s), grpcHandlersOf(s, stub(s), policy)) });
    query = await startQueryServer(stub(QueryService), {
      host: "127.0.0.1",
      port: 0,
      policy,
      extraServices: [
        { name: ALERT_SERVICE_NAME, files: ALERT_SERVICE_FILES, add: (s) => addAlertService(s, stub(AlertService), policy) },
        { name: DeviceService.typeName, files: DEVICE_SERVICE_FILES, add: (s) => addDeviceService(s, stub(DeviceService), policy) },
        { name: AuditService.typeName, files: AUDIT_SERVICE_FILES, add: (s) => addAuditService(s, stub(AuditService), policy) },
        // Served the way every Connect implementation is on a gRPC port (its own add… function is not written yet).
        extra(DeviceCommandService, [file_shoal_v1_command]),
      ],
    });
    admin = await startAdminServer(stub(AdminService), { host: "127.0.0.1", port: 0, initiallyServing: true, policy: { ...DEFAULT_ADMIN_POLICY, access } });
    gw = createGateway({ config: gatewayConfigSchema.parse({}) });
    gateway = await startGatewayServer(gw, { port: 0, access });
    const webServices = [QueryService, AlertService, AdminService, ConfigService, DeviceService, DeviceCommandService, AuditService].map((s) => webService(s as DescService, stub(s as DescService)));
    web = await startConsoleServer(webServices, { host: "127.0.0.1", port: 0, policy, appDir });
    const grpcPort = (name: string, address: string, services: readonly DescService[]): Port => {
      const client = new grpc.Client(address, grpc.credentials.createInsecure());
      clients.push(client);
      return { name, services, call: (s, m, t) => grpcCall(client, s, m, t) };
    };
    ports = [
      grpcPort("query gRPC", query.address, [QueryService, AlertService, DeviceService, DeviceCommandService, AuditService]),
      grpcPort("admin gRPC", admin.address, [AdminService]),
      grpcPort("gateway gRPC", gateway.address, [ModelGatewayService]),
      { name: "console HTTP (Connect)", services: webServices.map((w) => w.service), call: (s, m, t) => connectCall(web.url, s, m, t) },
    ];
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all([query?.close(0), admin?.close(0), gateway?.close(0), web?.close()]);
    await gw?.close();
    rmSync(appDir, { recursive: true, force: true });
  });

  it("the generated descriptors hold the services of every proto, and every method is in the access table (no stale entries either)", () => {
    const names = all.map((s) => s.typeName).sort();
    expect(names).toEqual(expect.arrayContaining(["shoal.v1.AdminService", "shoal.v1.AlertService", "shoal.v1.AuditService", "shoal.v1.ConfigService", "shoal.v1.DeviceCommandService", "shoal.v1.DeviceService", "shoal.v1.ModelGatewayService", "shoal.v1.QueryService"]));
    const unclassified = all.flatMap((s) => s.methods.filter((m) => !Object.hasOwn(ACCESS_TABLE[s.typeName] ?? {}, m.name)).map((m) => `${s.typeName}/${m.name}`));
    expect(unclassified, "classify these in src/access/roles.ts ACCESS_TABLE").toEqual([]);
    const generated = new Set(all.flatMap((s) => s.methods.map((m) => `${s.typeName}/${m.name}`)));
    const stale = Object.entries(ACCESS_TABLE).flatMap(([s, ms]) => Object.keys(ms).map((m) => `${s}/${m}`)).filter((k) => !generated.has(k));
    expect(stale).toEqual([]);
  });

  it("every service is served (and so tested) on at least one port", () => {
    const served = new Set(ports.flatMap((p) => p.services.map((s) => s.typeName)));
    expect(all.map((s) => s.typeName).filter((n) => !served.has(n))).toEqual([]);
  });

  it("without a token every RPC is UNAUTHENTICATED; with an unknown token too", async () => {
    const wrong: string[] = [];
    for (const p of ports)
      for (const s of p.services)
        for (const m of s.methods) {
          for (const token of [undefined, "not-a-configured-token-000"]) {
            const got = await p.call(s, m, token);
            if (got !== "UNAUTHENTICATED") wrong.push(`${p.name} ${s.typeName}/${m.name} (${token ? "unknown token" : "no token"}): ${got}`);
          }
        }
    expect(wrong).toEqual([]);
  });

  it("a role below the one an RPC needs is PERMISSION_DENIED; the role it needs gets past the check", async () => {
    const wrong: string[] = [];
    let denied = 0;
    for (const p of ports)
      for (const s of p.services)
        for (const m of s.methods) {
          const need = requiredRole(s.typeName, m.name);
          for (const role of BELOW[need]) {
            const got = await p.call(s, m, TOKENS[role]);
            if (got === "PERMISSION_DENIED") denied++;
            else wrong.push(`${p.name} ${s.typeName}/${m.name} as ${role} (needs ${need}): ${got}`);
          }
          const allowed = await p.call(s, m, TOKENS[need]);
          if (allowed === "UNAUTHENTICATED" || allowed === "PERMISSION_DENIED") wrong.push(`${p.name} ${s.typeName}/${m.name} as ${need}: ${allowed}`);
        }
    expect(wrong).toEqual([]);
    // Every port has methods above viewer: the gateway's all, the others their changes.
    expect(denied).toBeGreaterThan(30);
  });

  it("the gateway's client sends its token: the internal callers' (operator) token works, none or a viewer's is an auth error", async () => {
    const as = (token?: string) => createGatewayClient({ address: gateway.address, ...(token !== undefined ? { token } : {}), scoreBatch: { maxBatch: 1 } });
    const runtime = as(TOKENS.operator);
    expect((await runtime.embed({ text: "pump overheating" })).vector.length).toBe(64);
    expect((await runtime.score({ window: { deviceId: "d", metric: "m", values: [1, 2, 1, 2, 1, 50] } })).score).toBeGreaterThan(0.9);
    runtime.close();
    for (const token of [undefined, TOKENS.viewer]) {
      const c = as(token);
      await expect(c.embed({ text: "x" })).rejects.toMatchObject({ code: "auth", retryable: false });
      c.close();
    }
  });

  it("health stays open on the gRPC ports (probes carry no token)", async () => {
    for (const address of [query.address, admin.address, gateway.address]) {
      const Health = grpc.makeGenericClientConstructor(healthService, "Health");
      const h = new Health(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { check(req: { service: string }, cb: (e: grpc.ServiceError | null, r: { status: string }) => void): void };
      const status = await new Promise<string>((res, rej) => h.check({ service: "" }, (e, r) => (e ? rej(e) : res(r.status))));
      h.close();
      expect(status, address).toBe("SERVING");
    }
  });
});

