import { fnv1a32 } from "../../base/hash.js";

/**
 * Where a device's actor lives, from a WatchCluster snapshot: its journal partition is
 * fnv1a32(id) % partitions (src/runtime/partition.ts, persisted: never changes), the partition's
 * lease holder is the node, and the worker is the one listing the partition (else the pinning
 * rule partition % workers of src/runtime/partition.ts).
 */
export interface Placement {
  readonly partition: number;
  /** Lease holder ("" when free or unknown). */
  readonly owner: string;
  /** Where the plan wants it ("" when unknown). */
  readonly target: string;
  /** Worker index on the owner when this process hosts it; undefined when unknown. */
  readonly worker?: number;
  /** Undelivered messages of the partition's consumer (-1 unknown). */
  readonly pending: number;
}

export interface ClusterShape {
  readonly partitions: ReadonlyArray<{ readonly partition: number; readonly owner: string; readonly target: string; readonly pending: bigint | number }>;
  readonly workers: ReadonlyArray<{ readonly index: number; readonly partitions: readonly number[] }>;
}

/**
 * The device's placement, or undefined when the snapshot tells neither a partition map (cluster)
 * nor the partitions of the answering process's workers (a single node, which owns them all).
 * Worker stats describe the answering process (`localNode`): the worker is only told when that
 * process owns the partition.
 */
export function placementOf(deviceId: string, cluster: ClusterShape, localNode = ""): Placement | undefined {
  if (cluster.partitions.length === 0) return singleNodePlacement(deviceId, cluster, localNode);
  const count = cluster.partitions.length;
  const partition = fnv1a32(deviceId) % count;
  const info = cluster.partitions.find((p) => p.partition === partition);
  const local = localNode === "" || info === undefined || info.owner === "" || info.owner === localNode;
  const listed = cluster.workers.find((w) => w.partitions.includes(partition));
  const worker = !local ? undefined : (listed?.index ?? (cluster.workers.length > 0 ? partition % cluster.workers.length : undefined));
  return {
    partition,
    owner: info?.owner ?? "",
    target: info?.target ?? "",
    ...(worker !== undefined ? { worker } : {}),
    pending: Number(info?.pending ?? -1),
  };
}

/** Not clustered: the answering process owns every partition, and its workers list them. */
function singleNodePlacement(deviceId: string, cluster: ClusterShape, localNode: string): Placement | undefined {
  let max = -1;
  for (const w of cluster.workers) for (const p of w.partitions) max = Math.max(max, p);
  if (max < 0) return undefined;
  const partition = fnv1a32(deviceId) % (max + 1);
  const worker = cluster.workers.find((w) => w.partitions.includes(partition))?.index;
  return { partition, owner: localNode, target: localNode, ...(worker !== undefined ? { worker } : {}), pending: -1 };
}
