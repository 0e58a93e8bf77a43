import { create } from "@bufbuild/protobuf";
import {
  DrainNodeResponseSchema,
  GetPartitionMapResponseSchema,
  ListMembersResponseSchema,
  MemberSchema,
  PartitionInfoSchema,
  RebalanceResponseSchema,
  type DrainNodeRequest,
  type DrainNodeResponse,
  type GetPartitionMapRequest,
  type GetPartitionMapResponse,
  type ListMembersRequest,
  type ListMembersResponse,
  type RebalanceRequest,
  type RebalanceResponse,
} from "../gen/shoal/v1/admin_pb.js";
import type { ClusterAdmin } from "./admin.js";

/**
 * The cluster methods of `shoal.v1.AdminService` as plain unary handlers, named like Connect's
 * `ServiceImpl` (spread them into the AdminService implementation next to getInfo/getCounters:
 * `router.service(AdminService, { ...clusterAdminHandlers(admin), getInfo, getCounters })`, or wrap
 * them for @grpc/grpc-js).
 */
export interface ClusterAdminHandlers {
  listMembers(req: ListMembersRequest): Promise<ListMembersResponse>;
  getPartitionMap(req: GetPartitionMapRequest): Promise<GetPartitionMapResponse>;
  rebalance(req: RebalanceRequest): Promise<RebalanceResponse>;
  drainNode(req: DrainNodeRequest): Promise<DrainNodeResponse>;
}

/** Builds the handlers over a {@link ClusterAdmin}. A DrainNode without node_id is rejected with a RangeError. */
export function clusterAdminHandlers(admin: ClusterAdmin): ClusterAdminHandlers {
  return {
    async listMembers() {
      const members = await admin.members();
      return create(ListMembersResponseSchema, {
        members: members.map((m) =>
          create(MemberSchema, {
            nodeId: m.node,
            session: m.session,
            startedAtMs: BigInt(m.startedAtMs),
            pid: m.pid,
            leaving: m.leaving,
            drained: m.drained,
            ownedPartitions: m.owned,
            targetPartitions: m.target,
          }),
        ),
      });
    },
    async getPartitionMap() {
      const map = await admin.partitionMap();
      return create(GetPartitionMapResponseSchema, {
        partitions: map.map((p) =>
          create(PartitionInfoSchema, {
            partition: p.partition,
            owner: p.owner ?? "",
            target: p.target ?? "",
            pending: BigInt(p.pending ?? -1),
            ackPending: BigInt(p.ackPending ?? -1),
          }),
        ),
        misplaced: map.filter((p) => p.owner !== p.target).length,
      });
    },
    async rebalance() {
      await admin.rebalance();
      return create(RebalanceResponseSchema, {});
    },
    async drainNode(req) {
      if (req.nodeId === "") throw new RangeError("DrainNodeRequest.node_id is required");
      await admin.drain(req.nodeId, req.drain);
      return create(DrainNodeResponseSchema, {});
    },
  };
}
