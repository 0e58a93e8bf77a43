import type { BatchEffects, Envelope } from "../ports/actor-host.js";
import { emptyEffects, mergeEffects, toColumns, type Columns, type OutSend, type ShardEffects } from "./effects.js";
import { workerFor } from "./partition.js";
import type { Slot } from "./worker-slot.js";

/**
 * Split a batch by worker (partition p lives on worker p % n), as columns, one entry per worker it
 * touches (in order of first appearance); records the partitions on their slots.
 */
export function splitByWorker(batch: readonly Envelope[], slots: readonly Slot[], n: number): [Slot, Columns][] {
  if (n === 1 || batch.length === 0) {
    const slot = slots[0]!;
    for (const e of batch) slot.partitions.add(e.partition);
    return [[slot, toColumns(batch)]];
  }
  const first = workerFor(batch[0]!.partition, n);
  let single = true;
  for (let i = 1; i < batch.length && single; i++) single = workerFor(batch[i]!.partition, n) === first;
  if (single) {
    const slot = slots[first]!;
    for (const e of batch) slot.partitions.add(e.partition);
    return [[slot, toColumns(batch)]];
  }
  const by = new Map<number, Envelope[]>();
  for (const e of batch) {
    const w = workerFor(e.partition, n);
    let arr = by.get(w);
    if (arr === undefined) by.set(w, (arr = []));
    arr.push(e);
    slots[w]!.partitions.add(e.partition);
  }
  return [...by].map(([w, envs]) => [slots[w]!, toColumns(envs)]);
}

/** Merge the effects of several workers' replies, cross-worker sends included. */
export function mergeReplies(results: readonly BatchEffects[]): ShardEffects {
  const out: ShardEffects = { ...emptyEffects(), sends: [] };
  for (const r of results) {
    mergeEffects(out, r);
    for (const s of (r as Partial<ShardEffects>).sends ?? []) out.sends.push(s);
  }
  return out;
}

/**
 * Cross-worker sends in `out`: deliver them to their hosting workers (`deliver`), then the sends
 * those turns made, at most `maxRounds` rounds (the rest are dead-lettered as
 * `send_depth_exceeded`). Their effects are merged into `out`; its `sends` end empty.
 */
export async function routeSends(
  out: BatchEffects,
  maxRounds: number,
  partitionOf: (actorType: string, actorId: string) => number,
  deliver: (envs: readonly Envelope[]) => Promise<ShardEffects[]>,
): Promise<void> {
  let sends = (out as Partial<ShardEffects>).sends ?? [];
  for (let round = 0; sends.length > 0; round++) {
    if (round >= maxRounds) {
      for (const s of sends) {
        const partition = partitionOf(s.to.type, s.to.id);
        out.deadLetters.push({ stage: "runtime", code: "send_depth_exceeded", reason: `more than ${maxRounds} rounds of cross-worker sends`, envelope: { actorType: s.to.type, actorId: s.to.id, partition, streamSeq: 0, msg: s.msg } });
      }
      break;
    }
    const envs: Envelope[] = sends.map((s) => ({ actorType: s.to.type, actorId: s.to.id, partition: partitionOf(s.to.type, s.to.id), streamSeq: 0, msg: s.msg }));
    const results = await deliver(envs);
    const next: OutSend[] = [];
    for (const r of results) {
      mergeEffects(out, r);
      for (const s of r.sends) next.push(s);
    }
    sends = next;
  }
  if ((out as Partial<ShardEffects>).sends !== undefined) (out as unknown as { sends: OutSend[] }).sends = [];
}
