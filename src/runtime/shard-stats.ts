import type { WorkerStats } from "../ports/actor-host.js";
import type { ActorCell } from "./actor-cell.js";
import type { LatencyHistogram } from "./latency.js";
import type { ShardCounters } from "./shard-types.js";

/** What a shard's stats are built from. */
export interface ShardStatsInput {
  readonly worker: number;
  readonly cells: ReadonlyMap<string, ReadonlyMap<string, ActorCell>>;
  /** High-water stream seq per partition seen (sparse: its indices are the partitions). */
  readonly partHigh: readonly number[];
  readonly mailboxDepth: number;
  readonly inFlight: number;
  readonly counters: ShardCounters;
  readonly configVersion: string;
  readonly latency: LatencyHistogram;
  readonly logics: ReadonlyMap<string, ActorLogicLike>;
}

/** The part of an actor logic the stats read. */
interface ActorLogicLike {
  counters?(): Readonly<Record<string, number>>;
}

/** Live counters of a shard, as reported to the host (WorkerStats). */
export function buildShardStats(s: ShardStatsInput): WorkerStats {
  const activeByType: Record<string, number> = {};
  let maxDepth = 0;
  const parts = new Set<number>();
  for (const [type, m] of s.cells) {
    activeByType[type] = m.size;
    for (const c of m.values()) {
      if (c.depth > maxDepth) maxDepth = c.depth;
    }
  }
  s.partHigh.forEach((_, p) => parts.add(p));
  const { turns, activations, passivations, restarts, deadLetters, snapshots, skipped } = s.counters;
  const logicCounters: Record<string, Readonly<Record<string, number>>> = {};
  for (const [type, logic] of s.logics) {
    const c = logic.counters?.();
    if (c !== undefined) logicCounters[type] = { ...c };
  }
  return {
    worker: s.worker,
    partitions: [...parts].sort((a, b) => a - b),
    activeByType,
    mailboxDepth: s.mailboxDepth,
    maxMailboxDepth: maxDepth,
    inFlight: s.inFlight,
    turns,
    activations,
    passivations,
    restarts,
    deadLetters,
    snapshots,
    skipped,
    configVersion: s.configVersion,
    turnLatencyUs: { p50: s.latency.quantile(0.5), p99: s.latency.quantile(0.99), max: s.latency.max },
    logicCounters,
  };
}
