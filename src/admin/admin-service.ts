import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { CALLER, type Caller } from "../access/index.js";
import { systemClock } from "../base/clock.js";
import { clusterAdminHandlers, type ClusterAdmin } from "../cluster/index.js";
import * as pb from "../gen/shoal/v1/admin_pb.js";
import { ANONYMOUS } from "../grpc/access.js";
import type { Clock } from "../ports/clock.js";
import { clusterSnapshot, ClusterWatchHub, watchIntervalMs, type ClusterParts } from "./cluster-watch.js";
import { NotAvailableError, NotClusteredError, toConnectError } from "./errors.js";
import { runtimeStatsToPb, type RuntimeIntrospection } from "./runtime-stats.js";

/** Identity of the process, answered by GetInfo. */
export interface ProcessInfo {
  readonly nodeId: string;
  /** Roles this process runs, e.g. ["runtime"] or ["gateway", "runtime", "bridge"]. */
  readonly roles: readonly string[];
  /** Build version (package.json). */
  readonly version: string;
  /** Wall-clock start time, ms since the epoch. */
  readonly startedAtMs: number;
}

/** What the admin service of this process answers from. */
export interface AdminDeps {
  readonly info: ProcessInfo;
  /** Pipeline counters for GetCounters (read per call; names like `runtime.acked`). */
  counters(): Record<string, number>;
  /** Cluster administration; without it the cluster RPCs fail with FAILED_PRECONDITION. */
  readonly cluster?: ClusterAdmin;
  /** The actor runtime; without it GetRuntimeStats/RestartWorker fail with FAILED_PRECONDITION. */
  readonly runtime?: RuntimeIntrospection;
  /** Time of WatchCluster's ticks and snapshots. Default the system clock. */
  readonly clock?: Clock;
}

/** The caller of a handler as the access check authenticated it; "anonymous"/"admin" when no check runs. */
export function callerOf(ctx: HandlerContext): Caller {
  return ctx.values.get(CALLER) ?? ANONYMOUS;
}

/** `info` telling `caller` who it is (GetInfoResponse.caller_name/caller_role). */
export function withCaller(info: pb.GetInfoResponse, caller: Caller): pb.GetInfoResponse {
  return { ...info, callerName: caller.name, callerRole: caller.role };
}

/**
 * WatchCluster on `hub`: the shared snapshots of the request's interval (and `key`), each with the
 * info's caller fields set to this watcher, until the call's signal aborts.
 */
export async function* watchClusterOn(hub: ClusterWatchHub, req: pb.WatchClusterRequest, ctx: HandlerContext, key: string, compute: () => Promise<pb.WatchClusterResponse>): AsyncGenerator<pb.WatchClusterResponse> {
  const caller = callerOf(ctx);
  for await (const snap of hub.watch({ intervalMs: watchIntervalMs(req.intervalMs), key, compute, signal: ctx.signal })) {
    yield snap.info ? { ...snap, info: withCaller(snap.info, caller) } : snap;
  }
}

/** A unary handler whose errors are the admin service's codes (errors.ts: INVALID_ARGUMENT, FAILED_PRECONDITION, UNAVAILABLE, INTERNAL). */
export function mapped<Req, Res>(f: (req: Req, ctx: HandlerContext) => Promise<Res>): (req: Req, ctx: HandlerContext) => Promise<Res> {
  return async (req, ctx) => {
    try {
      return await f(req, ctx);
    } catch (e) {
      throw toConnectError(e);
    }
  };
}

/**
 * shoal.v1.AdminService of this process as one Connect implementation, served over gRPC by the
 * admin server (src/grpc/connect-on-grpc.ts) and over gRPC-web/Connect by the console. Cluster
 * RPCs without a ClusterAdmin, and runtime RPCs without a runtime, are FAILED_PRECONDITION.
 * WatchCluster shares one computation per interval among all watchers (src/admin/cluster-watch.ts).
 */
export function createAdminService(deps: AdminDeps): ServiceImpl<typeof pb.AdminService> {
  const cluster = deps.cluster ? clusterAdminHandlers(deps.cluster) : undefined;
  const clock = deps.clock ?? systemClock;
  const needCluster = (method: string) => {
    if (cluster === undefined) throw new NotClusteredError(method);
    return cluster;
  };
  const needRuntime = (method: string) => {
    if (deps.runtime === undefined) throw new NotAvailableError(`${method}: this process runs no actor runtime (roles: ${deps.info.roles.join(", ")})`);
    return deps.runtime;
  };
  const info = () => create(pb.GetInfoResponseSchema, { nodeId: deps.info.nodeId, roles: [...deps.info.roles], version: deps.info.version, startedAtMs: BigInt(deps.info.startedAtMs) });
  const counters = () => create(pb.GetCountersResponseSchema, { counters: deps.counters() });
  const parts: ClusterParts = {
    info: async () => info(),
    counters: async () => counters(),
    members: async () => needCluster("ListMembers").listMembers(create(pb.ListMembersRequestSchema)),
    partitions: async () => needCluster("GetPartitionMap").getPartitionMap(create(pb.GetPartitionMapRequestSchema)),
    runtime: async () => runtimeStatsToPb(await needRuntime("GetRuntimeStats").introspect()),
  };
  const hub = new ClusterWatchHub(clock);
  return {
    getInfo: mapped(async (_req, ctx) => withCaller(info(), callerOf(ctx))),
    getCounters: mapped(async () => counters()),
    listMembers: mapped(async (req) => needCluster("ListMembers").listMembers(req)),
    getPartitionMap: mapped(async (req) => needCluster("GetPartitionMap").getPartitionMap(req)),
    rebalance: mapped(async (req) => needCluster("Rebalance").rebalance(req)),
    drainNode: mapped(async (req) => needCluster("DrainNode").drainNode(req)),
    getRuntimeStats: mapped(async () => parts.runtime()),
    restartWorker: mapped(async (req) => {
      await needRuntime("RestartWorker").restartWorker(req.index);
      return create(pb.RestartWorkerResponseSchema, {});
    }),
    watchCluster: (req, ctx) => watchClusterOn(hub, req, ctx, "", () => clusterSnapshot(parts, clock.now())),
  };
}
