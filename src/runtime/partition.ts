import { fnv1a32 } from "../base/hash.js";

/** The journal's hash of an id (FNV-1a 32, src/base/hash.ts). */
export const fnv1a = fnv1a32;

/** Default partition function: fnv1a(actorId) % partitions (the journal's subject scheme). */
export function partitionFor(partitions: number): (actorType: string, actorId: string) => number {
  return (_type, id) => fnv1a32(id) % partitions;
}

/** Worker pinned to a partition: stable for a given worker count. */
export function workerFor(partition: number, workers: number): number {
  return partition % workers;
}
