import type { LockStore } from "../ports/leases.js";
import { decodeCluster, drainKey, rebalanceKey, viewOf, type ClusterLayout, type LeaseEvent } from "./layout.js";
import type { PartitionJournal } from "../ports/partition-journal.js";
import { planStep } from "./planner.js";

/** A member as operators see it. */
export interface MemberStatus {
  readonly node: string;
  readonly session: string;
  readonly startedAtMs: number;
  readonly pid: number;
  /** Shutting down (SIGTERM) and handing partitions off. */
  readonly leaving: boolean;
  /** Drained by an operator: owns nothing once its partitions moved. */
  readonly drained: boolean;
  /** Partitions whose lease it holds now. */
  readonly owned: number;
  /** Partitions the plan assigns to it. */
  readonly target: number;
}

/** One partition as operators see it. */
export interface PartitionStatus {
  readonly partition: number;
  /** Lease holder (`stale:<session>` for a lock whose session is no member's); undefined when free. */
  readonly owner: string | undefined;
  /** Where the plan wants it. */
  readonly target: string | undefined;
  /** Undelivered / unacknowledged messages of its durable consumer (undefined without a journal). */
  readonly pending: number | undefined;
  readonly ackPending: number | undefined;
}

/** Cluster administration, from any process that can reach Consul (and NATS for lag). */
export interface ClusterAdmin {
  members(): Promise<MemberStatus[]>;
  partitionMap(): Promise<PartitionStatus[]>;
  /** Makes every node re-plan now (moves stay bounded by each node's maxMoves). */
  rebalance(): Promise<void>;
  /** Drains `node` (on) or returns it to service (off). Draining moves its partitions away in bounded steps. */
  drain(node: string, on: boolean): Promise<void>;
  /** Lock history, oldest first; of one partition when given. */
  history(partition?: number): Promise<LeaseEvent[]>;
}

/** Builds the cluster admin over Consul locks and (optionally) the journal for lag. */
export function createClusterAdmin(deps: { locks: LockStore; layout: ClusterLayout; partitions: number; maxMoves?: number; journal?: PartitionJournal; now?: () => number }): ClusterAdmin {
  const { locks, layout, partitions } = deps;
  const snapshot = async () => {
    const l = await locks.list(`${layout.root}/`);
    const snap = decodeCluster(layout, partitions, l.entries, l.index);
    const plan = planStep(viewOf(snap, partitions), deps.maxMoves ?? 8);
    return { snap, plan };
  };
  return {
    async members() {
      const { snap, plan } = await snapshot();
      return snap.members.map((m) => ({
        ...m,
        owned: snap.owners.filter((o) => o === m.node).length,
        target: plan.target.filter((t) => t === m.node).length,
      }));
    },
    async partitionMap() {
      const { snap, plan } = await snapshot();
      const lags = deps.journal
        ? await Promise.all(Array.from({ length: partitions }, (_, p) => deps.journal!.lag(p).catch(() => undefined)))
        : [];
      return Array.from({ length: partitions }, (_, p) => ({
        partition: p,
        owner: snap.owners[p],
        target: plan.target[p],
        pending: lags[p]?.pending,
        ackPending: lags[p]?.ackPending,
      }));
    },
    async rebalance() {
      await locks.put(rebalanceKey(layout), JSON.stringify({ atMs: (deps.now ?? Date.now)() }));
    },
    async drain(node, on) {
      if (on) await locks.put(drainKey(layout, node), JSON.stringify({ atMs: (deps.now ?? Date.now)() }));
      else await locks.del(drainKey(layout, node));
    },
    async history(partition) {
      const prefix = partition === undefined ? `${layout.historyRoot}/` : `${layout.historyRoot}/${partition}/`;
      const l = await locks.list(prefix);
      const events = l.entries.map((e) => JSON.parse(e.value) as LeaseEvent);
      return events.sort((a, b) => a.atMs - b.atMs || a.partition - b.partition);
    },
  };
}

/** An overlap of two ownership intervals of one partition in a lock history. */
export interface LeaseOverlap {
  readonly partition: number;
  readonly first: { node: string; from: number; to: number };
  readonly second: { node: string; from: number; to: number };
}

/**
 * Checks a lock history for two owners at once: per partition, builds each owner's interval from
 * `acquired` to its `released`/`lost` (or to `endOf(node)`, e.g. the time the test killed it, or
 * +∞ if still owning) and reports intervals that overlap. Empty = never two owners.
 */
export function findOverlaps(events: readonly LeaseEvent[], endOf: (node: string, session: string) => number = () => Infinity): LeaseOverlap[] {
  const byP = new Map<number, LeaseEvent[]>();
  for (const e of events) byP.set(e.partition, [...(byP.get(e.partition) ?? []), e]);
  const out: LeaseOverlap[] = [];
  for (const [p, evs] of byP) {
    const sorted = [...evs].sort((a, b) => a.atMs - b.atMs);
    const intervals: Array<{ node: string; from: number; to: number }> = [];
    const open = new Map<string, { node: string; from: number }>();
    for (const e of sorted) {
      const k = `${e.node}/${e.session}`;
      if (e.event === "acquired") open.set(k, { node: e.node, from: e.atMs });
      else {
        const o = open.get(k);
        if (o) intervals.push({ ...o, to: e.atMs });
        open.delete(k);
      }
    }
    for (const [k, o] of open) intervals.push({ ...o, to: endOf(o.node, k.slice(o.node.length + 1)) });
    intervals.sort((a, b) => a.from - b.from);
    for (let i = 1; i < intervals.length; i++) {
      for (let j = 0; j < i; j++) if (intervals[j]!.to > intervals[i]!.from) out.push({ partition: p, first: intervals[j]!, second: intervals[i]! });
    }
  }
  return out;
}
