import { fnv1a32 } from "../base/hash.js";

/** Default partition function: fnv1a32(actorId) % partitions (the journal's subject scheme; src/base/hash.ts). */
export function partitionFor(partitions: number): (actorType: string, actorId: string) => number {
  return (_type, id) => fnv1a32(id) % partitions;
}

/** Worker pinned to a partition: stable for a given worker count. */
export function workerFor(partition: number, workers: number): number {
  return partition % workers;
}
