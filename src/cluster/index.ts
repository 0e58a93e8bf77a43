/**
 * Cluster: partitions, leases and live rebalancing across runtime processes
 * (docs/adr/0007-cluster-partitions-leases.md).
 */
export { rendezvousAssignment, rendezvousOwner, rendezvousWeight } from "./rendezvous.js";
export { applyPlan, planStep } from "./planner.js";
export type { ClusterView, Plan } from "./planner.js";
export { LEASE_DEFAULTS, leaseOptions } from "./options.js";
export type { LeaseOptions } from "./options.js";
export { clusterLayout, decodeCluster, viewOf } from "./layout.js";
export type { ClusterLayout, ClusterSnapshot, LeaseEvent, LeaseRecord, MemberInfo, MemberRecord } from "./layout.js";
export type { PartitionJournal, PartitionLag } from "../ports/partition-journal.js";
export { LeaseManager } from "./lease-manager.js";
export type { ClusterLogger, LeaseDeps, LeaseStatus, PartitionOwner } from "./lease-manager.js";
export { createClusterAdmin, findOverlaps } from "./admin.js";
export type { ClusterAdmin, LeaseOverlap, MemberStatus, PartitionStatus } from "./admin.js";
export { startClusterNode } from "./node.js";
export type { ClusterNode, ClusterNodeOptions } from "./node.js";
export { clusterAdminHandlers } from "./admin-service.js";
export type { ClusterAdminHandlers } from "./admin-service.js";
export { LeaderElection } from "./leader-election.js";
export type { LeaderDeps, LeaderOptions, LeaderStats, LeaderWork } from "./leader-election.js";
