/**
 * Partitioning of devices: partition = fnv1a32(deviceId) % partitions.
 * The partition count is fixed per cluster (changing it remaps devices); see docs/adr.
 */

import { fnv1a32 } from "../base/hash.js";

/** Partition of a device id in [0, partitions). */
export function partitionOf(deviceId: string, partitions: number): number {
  return fnv1a32(deviceId) % partitions;
}
