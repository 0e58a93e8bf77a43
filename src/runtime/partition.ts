/** FNV-1a 32-bit hash of a string's UTF-16 code units (ids are ASCII by the bridge's rules). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Default partition function: fnv1a(actorId) % partitions (the journal's subject scheme). */
export function partitionFor(partitions: number): (actorType: string, actorId: string) => number {
  return (_type, id) => fnv1a(id) % partitions;
}

/** Worker pinned to a partition: stable for a given worker count. */
export function workerFor(partition: number, workers: number): number {
  return partition % workers;
}
