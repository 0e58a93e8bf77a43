import { create } from "@bufbuild/protobuf";
import { ConnectError, type Code, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { systemClock } from "../base/clock.js";
import * as pb from "../gen/shoal/v1/admin_pb.js";
import type { Clock } from "../ports/clock.js";
import { callerOf, watchClusterOn, withCaller } from "./admin-service.js";
import { AdminCallError, type AdminCallOptions, type AdminClient } from "./client.js";
import { clusterSnapshot, ClusterWatchHub, type ClusterParts } from "./cluster-watch.js";
import { toConnectError } from "./errors.js";

/** The remote's error as this server's: its gRPC status (Connect's codes are gRPC's) and its message. */
function forwarded(e: unknown): ConnectError {
  if (e instanceof AdminCallError) return new ConnectError(e.details, e.status as number as Code, undefined, undefined, e);
  return toConnectError(e);
}

/** The caller's authorization (forwarded as is) and the call's signal. */
function optionsOf(ctx: HandlerContext): AdminCallOptions {
  const authorization = ctx.requestHeader.get("authorization");
  return { ...(authorization !== null ? { authorization } : {}), signal: ctx.signal };
}

/**
 * shoal.v1.AdminService of a process that runs no actor runtime (a console pod): every call is
 * forwarded to a runtime's admin gRPC server through `client` (`console.adminAddress`) with the
 * caller's `authorization`, so the admin server checks the same token; its errors come back with
 * their codes. GetInfo's caller fields are this server's caller. WatchCluster polls the remote once
 * per interval for all watchers with the same token (src/admin/cluster-watch.ts).
 */
export function createRemoteAdminService(client: AdminClient, o: { readonly clock?: Clock } = {}): ServiceImpl<typeof pb.AdminService> {
  const clock = o.clock ?? systemClock;
  const hub = new ClusterWatchHub(clock);
  const call =
    <Req, Res>(f: (req: Req, opts: AdminCallOptions) => Promise<Res>) =>
    async (req: Req, ctx: HandlerContext): Promise<Res> => {
      try {
        return await f(req, optionsOf(ctx));
      } catch (e) {
        throw forwarded(e);
      }
    };
  const partsFor = (authorization: string | undefined): ClusterParts => {
    const opts = authorization !== undefined ? { authorization } : {};
    return {
      info: () => client.getInfo(opts),
      counters: () => client.getCounters(opts),
      members: () => client.listMembers(opts),
      partitions: () => client.getPartitionMap(opts),
      runtime: () => client.getRuntimeStats(opts),
    };
  };
  return {
    getInfo: async (req, ctx) => withCaller(await call((_r: pb.GetInfoRequest, opts) => client.getInfo(opts))(req, ctx), callerOf(ctx)),
    getCounters: call((_req, opts) => client.getCounters(opts)),
    listMembers: call((_req, opts) => client.listMembers(opts)),
    getPartitionMap: call((_req, opts) => client.getPartitionMap(opts)),
    getRuntimeStats: call((_req, opts) => client.getRuntimeStats(opts)),
    rebalance: call(async (_req, opts) => {
      await client.rebalance(opts);
      return create(pb.RebalanceResponseSchema);
    }),
    drainNode: call(async (req: pb.DrainNodeRequest, opts) => {
      await client.drainNode(req.nodeId, req.drain, opts);
      return create(pb.DrainNodeResponseSchema);
    }),
    restartWorker: call(async (req: pb.RestartWorkerRequest, opts) => {
      await client.restartWorker(req.index, opts);
      return create(pb.RestartWorkerResponseSchema);
    }),
    watchCluster: (req, ctx) => {
      const authorization = ctx.requestHeader.get("authorization") ?? undefined;
      return watchClusterOn(hub, req, ctx, authorization ?? "", () => clusterSnapshot(partsFor(authorization), clock.now()));
    },
  };
}
