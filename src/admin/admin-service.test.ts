import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError, createContextValues, createHandlerContext, type HandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CALLER, type Caller } from "../access/index.js";
import { SimClock, flush } from "../base/testing/sim-clock.js";
import * as pb from "../gen/shoal/v1/admin_pb.js";
import { createAdminService } from "./admin-service.js";
import { AdminCallError, type AdminCallOptions, type AdminClient } from "./client.js";
import { watchIntervalMs } from "./cluster-watch.js";
import { createRemoteAdminService } from "./remote-admin-service.js";

const info = { nodeId: "n1", roles: ["runtime"], version: "1.2.3", startedAtMs: 5 };

/** A handler context as the access check leaves it: `caller` in CALLER, `authorization` in the headers. */
function contextOf(method: keyof typeof pb.AdminService.method, caller?: Caller, authorization?: string): { ctx: HandlerContext; abort: () => void } {
  const values = createContextValues();
  if (caller) values.set(CALLER, caller);
  const ac = new AbortController();
  const ctx = createHandlerContext({
    service: pb.AdminService,
    method: pb.AdminService.method[method],
    protocolName: "test",
    requestMethod: "POST",
    url: `/shoal.v1.AdminService/${method}`,
    requestSignal: ac.signal,
    contextValues: values,
    ...(authorization ? { requestHeader: { authorization } } : {}),
  });
  return { ctx, abort: () => ac.abort() };
}

type Watch = AsyncIterator<pb.WatchClusterResponse>;
const watch = (svc: ReturnType<typeof createAdminService>, intervalMs: number, ctx: HandlerContext): Watch =>
  (svc.watchCluster(create(pb.WatchClusterRequestSchema, { intervalMs }), ctx) as AsyncIterable<pb.WatchClusterResponse>)[Symbol.asyncIterator]();
const value = async (p: Promise<IteratorResult<pb.WatchClusterResponse>>) => {
  const r = await p;
  if (r.done) throw new Error("the watch ended");
  return r.value;
};
const watcher: Caller = { name: "watcher", role: "viewer" };
const oncall: Caller = { name: "oncall", role: "operator" };

describe("AdminService (Connect implementation of this process)", () => {
  it("GetInfo tells the caller its name and role (anonymous admin without an access check)", async () => {
    const svc = createAdminService({ info, counters: () => ({}) });
    const call = (c?: Caller) => svc.getInfo(create(pb.GetInfoRequestSchema), contextOf("getInfo", c).ctx) as Promise<pb.GetInfoResponse>;
    expect(await call(watcher)).toMatchObject({ nodeId: "n1", roles: ["runtime"], version: "1.2.3", startedAtMs: 5n, callerName: "watcher", callerRole: "viewer" });
    expect(await call()).toMatchObject({ callerName: "anonymous", callerRole: "admin" });
  });

  it("maps errors: no cluster or runtime FAILED_PRECONDITION, a bad index INVALID_ARGUMENT with the runtime's message", async () => {
    const svc = createAdminService({ info, counters: () => ({}) });
    const { ctx } = contextOf("listMembers");
    await expect(svc.listMembers(create(pb.ListMembersRequestSchema), ctx)).rejects.toMatchObject({ code: Code.FailedPrecondition });
    await expect(svc.restartWorker(create(pb.RestartWorkerRequestSchema), ctx)).rejects.toMatchObject({ code: Code.FailedPrecondition });
    const withRuntime = createAdminService({
      info,
      counters: () => ({}),
      runtime: { introspect: async () => ({ workers: [], workerRestarts: 0, pendingSnapshots: 0 }), restartWorker: async (i) => Promise.reject(new RangeError(`worker ${i} does not exist`)) },
    });
    const err = await Promise.resolve(withRuntime.restartWorker(create(pb.RestartWorkerRequestSchema, { index: 3 }), ctx)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err).toMatchObject({ code: Code.InvalidArgument, rawMessage: "worker 3 does not exist" });
  });

  it("WatchCluster: one computation per interval for all watchers, each told who it is; parts it cannot answer are named in `unavailable`", async () => {
    const clock = new SimClock(1_000);
    let computations = 0;
    const svc = createAdminService({ info, counters: () => ({ ticks: ++computations }), clock });
    const a = contextOf("watchCluster", watcher);
    const b = contextOf("watchCluster", oncall);
    const wa = watch(svc, 0, a.ctx);
    const first = await value(wa.next());
    expect(first).toMatchObject({ atMs: 1_000n, info: { nodeId: "n1", callerName: "watcher", callerRole: "viewer" }, counters: { counters: { ticks: 1 } } });
    expect(first.members).toBeUndefined();
    expect(Object.keys(first.unavailable).sort()).toEqual(["members", "partitions", "runtime"]);
    expect(first.unavailable["members"]).toContain("not running in cluster mode");
    expect(first.unavailable["runtime"]).toContain("this process runs no actor runtime");
    // A second watcher of the same interval (1000 = the default) gets the newest snapshot at once, computed for both.
    const wb = watch(svc, 1000, b.ctx);
    expect(await value(wb.next())).toMatchObject({ atMs: 1_000n, info: { callerName: "oncall" }, counters: { counters: { ticks: 1 } } });
    expect(computations).toBe(1);
    const [na, nb] = [wa.next(), wb.next()];
    await clock.advance(1_000);
    expect(computations).toBe(2);
    expect((await value(na)).atMs).toBe(2_000n);
    expect((await value(nb)).atMs).toBe(2_000n);
    // b is slow: three ticks pass while a reads each; b then gets only the newest.
    for (let t = 3; t <= 5; t++) {
      const n = wa.next();
      await clock.advance(1_000);
      expect((await value(n)).atMs).toBe(BigInt(t * 1_000));
    }
    expect(computations).toBe(5);
    expect(await value(wb.next())).toMatchObject({ atMs: 5_000n, counters: { counters: { ticks: 5 } } });
    // Another interval is another computation.
    const c = contextOf("watchCluster", watcher);
    const wc = watch(svc, 100, c.ctx);
    expect((await value(wc.next())).atMs).toBe(5_000n);
    expect(computations).toBe(6);
    c.abort();
    expect(await wc.next()).toMatchObject({ done: true });
    // Everyone leaves: nothing ticks any more.
    const [ea, eb] = [wa.next(), wb.next()];
    a.abort();
    b.abort();
    expect(await ea).toMatchObject({ done: true });
    expect(await eb).toMatchObject({ done: true });
    await flush();
    expect(clock.pending).toBe(0);
    await clock.advance(10_000);
    expect(computations).toBe(6);
  });

  it("normalises the interval: 0 → 1000 ms, at least 250 ms", () => {
    expect([watchIntervalMs(0), watchIntervalMs(10), watchIntervalMs(250), watchIntervalMs(5000), watchIntervalMs(4_000_000_000)]).toEqual([1000, 250, 250, 5000, 3_600_000]);
  });
});

/** An AdminClient double recording the authorization of each call. */
function fakeClient(): { client: AdminClient; calls: Array<[string, string | undefined]> } {
  const calls: Array<[string, string | undefined]> = [];
  const rec = (m: string, o?: AdminCallOptions) => calls.push([m, o?.authorization]);
  const client: AdminClient = {
    getInfo: async (o) => (rec("GetInfo", o), create(pb.GetInfoResponseSchema, { nodeId: "remote", callerName: "remote-said", callerRole: "admin" })),
    getCounters: async (o) => (rec("GetCounters", o), create(pb.GetCountersResponseSchema, { counters: { x: 1 } })),
    listMembers: async (o) => (rec("ListMembers", o), create(pb.ListMembersResponseSchema)),
    getPartitionMap: async (o) => (rec("GetPartitionMap", o), create(pb.GetPartitionMapResponseSchema, { misplaced: 2 })),
    getRuntimeStats: async (o) => {
      rec("GetRuntimeStats", o);
      throw new AdminCallError("GetRuntimeStats", Object.assign(new Error("x"), { code: grpc.status.FAILED_PRECONDITION, details: "no runtime here", metadata: new grpc.Metadata() }));
    },
    restartWorker: async () => {},
    rebalance: async () => {},
    drainNode: async (_n, _d, o) => {
      rec("DrainNode", o);
      throw new AdminCallError("DrainNode", Object.assign(new Error("x"), { code: grpc.status.PERMISSION_DENIED, details: "DrainNode needs the operator role; watcher is viewer", metadata: new grpc.Metadata() }));
    },
    close: () => {},
  };
  return { client, calls };
}

describe("AdminService forwarded to a remote admin server (console pod)", () => {
  it("forwards the caller's authorization; the remote's errors keep their codes; GetInfo names this server's caller", async () => {
    const { client, calls } = fakeClient();
    const svc = createRemoteAdminService(client);
    const { ctx } = contextOf("getInfo", watcher, "Bearer vvvv");
    expect(await svc.getInfo(create(pb.GetInfoRequestSchema), ctx)).toMatchObject({ nodeId: "remote", callerName: "watcher", callerRole: "viewer" });
    const err = await Promise.resolve(svc.drainNode(create(pb.DrainNodeRequestSchema, { nodeId: "n2", drain: true }), ctx)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: Code.PermissionDenied, rawMessage: "DrainNode needs the operator role; watcher is viewer" });
    expect(calls).toEqual([
      ["GetInfo", "Bearer vvvv"],
      ["DrainNode", "Bearer vvvv"],
    ]);
  });

  it("WatchCluster polls the remote once per interval for the watchers of one token", async () => {
    const clock = new SimClock(0);
    const { client, calls } = fakeClient();
    const svc = createRemoteAdminService(client, { clock });
    const a = contextOf("watchCluster", watcher, "Bearer vvvv");
    const b = contextOf("watchCluster", watcher, "Bearer vvvv");
    const c = contextOf("watchCluster", oncall, "Bearer oooo");
    const [wa, wb, wc] = [watch(svc, 500, a.ctx), watch(svc, 500, b.ctx), watch(svc, 500, c.ctx)];
    const [sa, sb, sc] = await Promise.all([value(wa.next()), value(wb.next()), value(wc.next())]);
    expect(sa).toMatchObject({ info: { nodeId: "remote", callerName: "watcher" }, counters: { counters: { x: 1 } }, partitions: { misplaced: 2 }, unavailable: { runtime: "GetRuntimeStats: FAILED_PRECONDITION: no runtime here" } });
    expect(sb.info?.callerName).toBe("watcher");
    expect(sc.info?.callerName).toBe("oncall");
    const byToken = (t: string) => calls.filter(([m, auth]) => m === "GetInfo" && auth === t).length;
    expect([byToken("Bearer vvvv"), byToken("Bearer oooo")]).toEqual([1, 1]);
    const next = [wa.next(), wb.next(), wc.next()];
    await clock.advance(500);
    await Promise.all(next.map(value));
    expect([byToken("Bearer vvvv"), byToken("Bearer oooo")]).toEqual([2, 2]);
    const ends = [wa.next(), wb.next(), wc.next()];
    [a, b, c].forEach((x) => x.abort());
    expect((await Promise.all(ends)).every((r) => r.done)).toBe(true);
    await flush();
    expect(clock.pending).toBe(0);
  });
});
