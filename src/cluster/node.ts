import type { LockStore, SessionStore } from "../ports/leases.js";
import { createClusterAdmin, type ClusterAdmin } from "./admin.js";
import { clusterLayout, type ClusterLayout, type LeaseEvent } from "./layout.js";
import { LeaseManager, type ClusterLogger, type LeaseStatus, type PartitionOwner } from "./lease-manager.js";
import type { LeaseOptions } from "./options.js";
import type { PartitionJournal } from "../ports/partition-journal.js";

/** What a runtime process needs to take part in the cluster. */
export interface ClusterNodeOptions {
  /** Where leases live (Consul in production: wired by the runtime command). Closed with the node. */
  readonly leases: { readonly locks: LockStore; readonly sessions: SessionStore; readonly prefix: string };
  readonly env: string;
  readonly nodeId: string;
  readonly partitions: number;
  readonly journal: PartitionJournal;
  readonly owner: PartitionOwner;
  readonly log: ClusterLogger;
  /** Lease tuning (TTL 10 s, lock delay 1 s, 8 moves at a time, ... by default). */
  readonly lease?: Partial<Omit<LeaseOptions, "nodeId" | "partitions">>;
  /** KV layout; default `<prefix>/<env>/cluster`. */
  readonly layout?: ClusterLayout;
  readonly onEvent?: (e: LeaseEvent) => void;
}

/** A runtime process's membership in the cluster. */
export interface ClusterNode {
  /** Owned-and-caught-up readiness (for /readyz). */
  ready(): boolean;
  status(): LeaseStatus;
  /** Cluster-wide admin (members, partition map, rebalance, drain, history). */
  readonly admin: ClusterAdmin;
  /** Graceful leave for SIGTERM: bounded handoff, then release the rest; destroys the session. */
  leave(): Promise<void>;
  /** Release everything now and destroy the session. */
  close(): Promise<void>;
}

/** Joins the cluster (leases in Consul) and starts claiming partitions for `owner`. */
export async function startClusterNode(o: ClusterNodeOptions): Promise<ClusterNode> {
  const { locks, sessions } = o.leases;
  const layout = o.layout ?? clusterLayout(o.leases.prefix, o.env);
  let manager: LeaseManager;
  try {
    manager = await LeaseManager.create(
      { locks, sessions, journal: o.journal, owner: o.owner, layout, log: o.log, ...(o.onEvent ? { onEvent: o.onEvent } : {}) },
      { nodeId: o.nodeId, partitions: o.partitions, ...o.lease },
    );
  } catch (e) {
    locks.close();
    sessions.close();
    throw e;
  }
  const admin = createClusterAdmin({ locks, layout, partitions: o.partitions, journal: o.journal, ...(o.lease?.maxMoves ? { maxMoves: o.lease.maxMoves } : {}) });
  const done = () => {
    locks.close();
    sessions.close();
  };
  return {
    ready: () => manager.ready(),
    status: () => manager.status(),
    admin,
    async leave() {
      await manager.leave();
      done();
    },
    async close() {
      await manager.close();
      done();
    },
  };
}
