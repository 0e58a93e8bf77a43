import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, type DescMessage } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { service as healthService } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startClickHouse, startNats, type ServiceHandle } from "../harness/index.js";
import { migrate } from "../../src/adapters/clickhouse/index.js";
import type { ClusterAdmin } from "../../src/cluster/index.js";
import type { ShoalConfig } from "../../src/config/index.js";
import { AdminService } from "../../src/gen/shoal/v1/admin_pb.js";
import { QueryService } from "../../src/gen/shoal/v1/query_pb.js";
import { grpcServiceDefinition } from "../../src/grpc/index.js";
import type { HostIntrospection } from "../../src/ports/actor-host.js";
import { startAdminRole, type AdminRole } from "../../src/cli/roles/admin-role.js";
import { startConsoleRole, type ConsoleRole } from "../../src/cli/roles/console-role.js";
import { startQueryRole, type QueryRole } from "../../src/cli/roles/query-role.js";
import { pipelineConfig, quietLogger } from "../support/pipeline.js";

/**
 * The console as `shoal up` composes it (query role + admin role + console role) on real sockets,
 * real NATS and ClickHouse, with bearer tokens configured: Connect and gRPC-web clients (what a
 * browser speaks), @grpc/grpc-js on the gRPC ports, plain HTTP for the app and /healthz; and a
 * console pod's console forwarding AdminService to the admin gRPC port.
 */
const VIEWER = "viewer-token-0123456789";
const OPERATOR = "operator-token-0123456789";

const view: HostIntrospection = {
  workers: [{ worker: 0, partitions: [0], activeByType: { device: 3 }, mailboxDepth: 0, maxMailboxDepth: 0, inFlight: 0, turns: 10, activations: 3, passivations: 0, restarts: 0, deadLetters: 0, snapshots: 0, skipped: 0, configVersion: "", turnLatencyUs: { p50: 1, p99: 2, max: 3 }, logicCounters: {} }],
  workerRestarts: 0,
  pendingSnapshots: 0,
};

describe("console server (tokens configured)", () => {
  let nats: ServiceHandle;
  let ch: ServiceHandle;
  let nc: NatsConnection;
  let cfg: ShoalConfig;
  let query: QueryRole;
  let admin: AdminRole;
  let consoleRole: ConsoleRole;
  let pod: ConsoleRole;
  const appDir = mkdtempSync(join(tmpdir(), "shoal-console-app-"));
  const drained: string[] = [];
  const restarted: number[] = [];

  const cluster: ClusterAdmin = {
    members: async () => [{ node: "n1", session: "s1", startedAtMs: 1, pid: 7, leaving: false, drained: false, owned: 8, target: 8 }],
    partitionMap: async () => [{ partition: 0, owner: "n1", target: "n1", pending: 0, ackPending: 0 }],
    rebalance: async () => {},
    drain: async (node) => void drained.push(node),
    history: async () => [],
  };

  beforeAll(async () => {
    [nats, ch] = await Promise.all([startNats(), startClickHouse()]);
    const base = pipelineConfig({ nats: nats.url, mqtt: "mqtt://127.0.0.1:1", clickhouse: ch.url }, { SHOAL__CLICKHOUSE__DATABASE: "console_test", SHOAL__QUERY__PORT: "0", SHOAL__ADMIN__PORT: "0" });
    cfg = {
      ...base,
      console: {
        ...base.console,
        appDir,
        tokens: [
          { name: "watcher", role: "viewer", token: VIEWER },
          { name: "oncall", role: "operator", token: OPERATOR },
        ],
      },
    };
    writeFileSync(join(appDir, "index.html"), "<!doctype html><title>Shoal console</title>");
    await migrate(cfg.clickhouse);
    nc = await connect({ servers: nats.url });
    const log = quietLogger("console-test");
    query = await startQueryRole(cfg, log, { nc });
    admin = await startAdminRole(cfg, log, {
      roles: ["runtime", "query"],
      counters: () => ({ "runtime.acked": 1 }),
      runtime: { introspect: async () => view, restartWorker: async (i) => void restarted.push(i) },
      cluster,
      readiness: () => "",
    });
    consoleRole = await startConsoleRole(cfg, log, { query: query.query, alerts: query.alerts, admin: admin.service });
    // A console pod: no runtime here, AdminService forwarded to the admin gRPC port.
    pod = await startConsoleRole({ ...cfg, console: { ...cfg.console, adminAddress: admin.address! } }, log, { query: query.query, alerts: query.alerts });
  }, 120_000);

  afterAll(async () => {
    await pod?.close();
    await consoleRole?.close();
    await admin?.close();
    await query?.close();
    await nc?.close();
    await Promise.all([nats?.cleanup(), ch?.cleanup()]);
    rmSync(appDir, { recursive: true, force: true });
  });

  const withToken = (token?: string): Interceptor[] => (token === undefined ? [] : [(next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req))]);
  const adminOf = (url: string, token?: string, grpcWeb = false) =>
    createClient(AdminService, (grpcWeb ? createGrpcWebTransport : createConnectTransport)({ baseUrl: url, httpVersion: "1.1", interceptors: withToken(token) }));
  const codeOf = (p: Promise<unknown>) => p.then(() => "ok", (e: unknown) => ConnectError.from(e).code);

  it("no token is Unauthenticated; a viewer reads and is told who it is; its actions are PermissionDenied; an operator may act", async () => {
    expect(consoleRole.admin).toBe("local");
    const url = consoleRole.url!;
    expect(await codeOf(adminOf(url).getInfo({}))).toBe(Code.Unauthenticated);
    expect(await codeOf(adminOf(url, "not-a-token-0123456789").getInfo({}))).toBe(Code.Unauthenticated);
    expect(await codeOf(createClient(QueryService, createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1" })).listDevices({}))).toBe(Code.Unauthenticated);
    expect(await adminOf(url, VIEWER).getInfo({})).toMatchObject({ nodeId: cfg.nodeId, roles: ["runtime", "query"], callerName: "watcher", callerRole: "viewer" });
    expect(await adminOf(url, OPERATOR, true).getInfo({})).toMatchObject({ callerName: "oncall", callerRole: "operator" });
    const viewerQuery = createClient(QueryService, createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1", interceptors: withToken(VIEWER) }));
    expect((await viewerQuery.listDevices({})).devices).toEqual([]);
    for (const grpcWeb of [false, true]) {
      expect(await codeOf(adminOf(url, VIEWER, grpcWeb).drainNode({ nodeId: "n1", drain: true }))).toBe(Code.PermissionDenied);
      expect(await codeOf(adminOf(url, VIEWER, grpcWeb).restartWorker({ index: 0 }))).toBe(Code.PermissionDenied);
    }
    expect(drained).toEqual([]);
    expect(restarted).toEqual([]);
    expect(await codeOf(adminOf(url, OPERATOR).drainNode({ nodeId: "n1", drain: true }))).toBe("ok");
    expect(await codeOf(adminOf(url, OPERATOR, true).restartWorker({ index: 0 }))).toBe("ok");
    expect(drained).toEqual(["n1"]);
    expect(restarted).toEqual([0]);
  });

  it("WatchCluster streams snapshots over gRPC-web to a viewer (refused without a token)", async () => {
    const url = consoleRole.url!;
    const two = async (token?: string) => {
      const got = [];
      for await (const m of adminOf(url, token, true).watchCluster({ intervalMs: 250 })) {
        got.push(m);
        if (got.length === 2) break;
      }
      return got;
    };
    expect(await codeOf(two())).toBe(Code.Unauthenticated);
    const got = await two(VIEWER);
    expect(got.length).toBe(2);
    expect(got[0]).toMatchObject({ info: { callerName: "watcher" }, members: { members: [{ nodeId: "n1", pid: 7 }] }, runtime: { workers: [{ index: 0 }] }, unavailable: {} });
    expect(got[1]!.atMs).toBeGreaterThan(got[0]!.atMs);
  });

  it("a console pod forwards AdminService to the admin gRPC port with the caller's token", async () => {
    expect(pod.admin).toBe("remote");
    const url = pod.url!;
    expect(await codeOf(adminOf(url).getInfo({}))).toBe(Code.Unauthenticated);
    expect(await adminOf(url, VIEWER).getInfo({})).toMatchObject({ nodeId: cfg.nodeId, roles: ["runtime", "query"], callerName: "watcher", callerRole: "viewer" });
    expect(await codeOf(adminOf(url, VIEWER, true).drainNode({ nodeId: "n2", drain: true }))).toBe(Code.PermissionDenied);
    expect(await codeOf(adminOf(url, OPERATOR, true).drainNode({ nodeId: "n2", drain: true }))).toBe("ok");
    expect(drained).toContain("n2");
    for await (const m of adminOf(url, VIEWER, true).watchCluster({})) {
      expect(m).toMatchObject({ info: { nodeId: cfg.nodeId, callerName: "watcher" }, partitions: { partitions: [{ owner: "n1" }] } });
      break;
    }
  });

  it("the gRPC ports refuse the same way (@grpc/grpc-js); health stays open", async () => {
    type Unary = (req: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void;
    const md = (token?: string) => {
      const m = new grpc.Metadata();
      if (token) m.set("authorization", `Bearer ${token}`);
      return m;
    };
    const Admin = grpc.makeGenericClientConstructor(grpcServiceDefinition(AdminService), "AdminService");
    const Query = grpc.makeGenericClientConstructor(grpcServiceDefinition(QueryService), "QueryService");
    const Health = grpc.makeGenericClientConstructor(healthService, "Health");
    const a = new Admin(admin.address!, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Unary>;
    const q = new Query(query.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Unary>;
    const h = new Health(admin.address!, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Unary>;
    const call = <T>(c: grpc.Client & Record<string, Unary>, service: { methods: ReadonlyArray<{ name: string; input: DescMessage }> }, method: string, req: object, token?: string) =>
      new Promise<T>((resolve, reject) =>
        c[method]!.call(c, create(service.methods.find((m) => m.name === method)!.input, req as never), md(token), { deadline: Date.now() + 10_000 }, (e, r) => (e ? reject(e) : resolve(r as T))),
      );
    try {
      await expect(call(a, AdminService, "GetInfo", {})).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
      expect(await call(a, AdminService, "GetInfo", {}, VIEWER)).toMatchObject({ callerName: "watcher", callerRole: "viewer" });
      await expect(call(a, AdminService, "DrainNode", { nodeId: "n1", drain: false }, VIEWER)).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
      await expect(call(a, AdminService, "RestartWorker", { index: 0 }, VIEWER)).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
      await expect(call(a, AdminService, "DrainNode", { nodeId: "n1", drain: false }, OPERATOR)).resolves.toBeDefined();
      await expect(call(q, QueryService, "ListDevices", {})).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
      expect(await call(q, QueryService, "ListDevices", {}, VIEWER)).toMatchObject({ devices: [] });
      const status = await new Promise<string>((resolve, reject) => h["check"]!.call(h, { service: "" }, new grpc.Metadata(), {}, (e, r) => (e ? reject(e) : resolve((r as { status: string }).status))));
      expect(status).toBe("SERVING");
    } finally {
      a.close();
      q.close();
      h.close();
    }
  });

  it("serves the app's index.html and /healthz without a token", async () => {
    const index = await fetch(`${consoleRole.url}/`);
    expect([index.status, index.headers.get("content-type"), index.headers.get("cache-control")]).toEqual([200, "text/html; charset=utf-8", "no-cache"]);
    expect(await index.text()).toContain("<title>Shoal console</title>");
    const health = await fetch(`${consoleRole.url}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, "ok\n"]);
  });
});
