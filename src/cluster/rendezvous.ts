import { fnv1a32 } from "../base/hash.js";

/**
 * Rendezvous (highest-random-weight) hashing: partition `p` belongs to the member with the highest
 * weight(member, p). Adding or removing one member moves only the partitions it wins or held
 * (about P/N), and every node computes the same owner from the same member set, without
 * coordination.
 */

/** 32-bit weight of (member, partition): FNV-1a over the member name, then a murmur3 finalizer mix with the partition. */
export function rendezvousWeight(member: string, partition: number): number {
  let h = fnv1a32(member);
  h ^= Math.imul(partition + 1, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Owner of `partition` among `members` (ties broken by the larger name, so the result never
 * depends on the order of `members`); `undefined` when there are no members.
 */
export function rendezvousOwner(partition: number, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestW = -1;
  for (const m of members) {
    const w = rendezvousWeight(m, partition);
    if (w > bestW || (w === bestW && best !== undefined && m > best)) {
      best = m;
      bestW = w;
    }
  }
  return best;
}

/** Target owner of every partition in [0, partitions) (index = partition). */
export function rendezvousAssignment(partitions: number, members: readonly string[]): Array<string | undefined> {
  return Array.from({ length: partitions }, (_, p) => rendezvousOwner(p, members));
}
