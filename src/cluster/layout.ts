import type { LockEntry } from "../ports/leases.js";
import type { ClusterView } from "./planner.js";

/**
 * Consul KV layout of a cluster, under `root` (default `<consul.prefix>/<env>/cluster`):
 * - `members/<node>`: held by the node's session (deleted with it); value {@link MemberRecord}.
 * - `partitions/<p>`: the lease of partition p, held by its owner's session; value {@link LeaseRecord}.
 * - `drain/<node>`: an operator drain (not tied to any session; removed by undrain).
 * - `rebalance`: written by `shoal cluster rebalance` to make every node re-plan at once.
 * The lock history goes to a sibling tree, `historyRoot` (default `<root>-history`), so its writes
 * never wake the nodes' blocking queries: `<historyRoot>/<p>/<atMs>-<node>-<event>`.
 */
export interface ClusterLayout {
  readonly root: string;
  readonly historyRoot: string;
}

/** The layout for a configuration: `<prefix>/<env>/cluster`. */
export function clusterLayout(prefix: string, env: string): ClusterLayout {
  const root = `${prefix}/${env}/cluster`;
  return { root, historyRoot: `${root}-history` };
}

export const memberKey = (l: ClusterLayout, node: string) => `${l.root}/members/${node}`;
export const partitionKey = (l: ClusterLayout, p: number) => `${l.root}/partitions/${p}`;
export const drainKey = (l: ClusterLayout, node: string) => `${l.root}/drain/${node}`;
export const rebalanceKey = (l: ClusterLayout) => `${l.root}/rebalance`;

/** Value of a member key. */
export interface MemberRecord {
  readonly node: string;
  readonly session: string;
  readonly startedAtMs: number;
  readonly pid: number;
  /** True once the node is shutting down (SIGTERM): it hands its partitions off. */
  readonly leaving: boolean;
}

/** Value of a partition lease key. */
export interface LeaseRecord {
  readonly node: string;
  readonly session: string;
  readonly atMs: number;
}

/** One lock history event. `acquired` is written after the lock is held and before pulling starts; `released` after pulling stopped and every delivered batch was acked, before the lock is freed; `lost` when the node found its lease gone (session expired) and stopped pulling. */
export interface LeaseEvent {
  readonly partition: number;
  readonly node: string;
  readonly session: string;
  readonly event: "acquired" | "released" | "lost";
  /** Wall-clock time of the event, ms. */
  readonly atMs: number;
  /** ModifyIndex / LockIndex of the lease key right after the acquire (0 for other events). */
  readonly modifyIndex: number;
  readonly lockIndex: number;
  /** Messages a previous owner left outstanding that were rewound before pulling (acquired only). */
  readonly rewound?: number;
}

/** A member as seen in Consul. */
export interface MemberInfo {
  readonly node: string;
  readonly session: string;
  readonly startedAtMs: number;
  readonly pid: number;
  readonly leaving: boolean;
  /** Drained by an operator. */
  readonly drained: boolean;
}

/** A decoded snapshot of the cluster tree. */
export interface ClusterSnapshot {
  readonly members: readonly MemberInfo[];
  /** Lease holder per partition: a member's node id, `stale:<session>` for a lock whose session is no member's, or undefined when free. */
  readonly owners: ReadonlyArray<string | undefined>;
  readonly drained: ReadonlySet<string>;
  /** X-Consul-Index of the listing. */
  readonly index: number;
}

function parse<T>(s: string): Partial<T> {
  try {
    const v = JSON.parse(s) as unknown;
    return v !== null && typeof v === "object" ? (v as Partial<T>) : {};
  } catch {
    return {};
  }
}

/** Decodes a recursive listing of `layout.root`. Only locked member keys count as members. */
export function decodeCluster(layout: ClusterLayout, partitions: number, entries: readonly LockEntry[], index: number): ClusterSnapshot {
  const mPrefix = `${layout.root}/members/`;
  const pPrefix = `${layout.root}/partitions/`;
  const dPrefix = `${layout.root}/drain/`;
  const drained = new Set<string>();
  for (const e of entries) if (e.key.startsWith(dPrefix)) drained.add(e.key.slice(dPrefix.length));
  const members: MemberInfo[] = [];
  const bySession = new Map<string, string>();
  for (const e of entries) {
    if (!e.key.startsWith(mPrefix) || e.session === undefined) continue;
    const node = e.key.slice(mPrefix.length);
    const r = parse<MemberRecord>(e.value);
    members.push({ node, session: e.session, startedAtMs: r.startedAtMs ?? 0, pid: r.pid ?? 0, leaving: r.leaving === true, drained: drained.has(node) });
    bySession.set(e.session, node);
  }
  members.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  const owners: Array<string | undefined> = new Array(partitions).fill(undefined);
  for (const e of entries) {
    if (!e.key.startsWith(pPrefix) || e.session === undefined) continue;
    const p = Number(e.key.slice(pPrefix.length));
    if (!Number.isInteger(p) || p < 0 || p >= partitions) continue;
    owners[p] = bySession.get(e.session) ?? `stale:${e.session}`;
  }
  return { members, owners, drained, index };
}

/** The planner's view of a snapshot: leaving and drained members are draining. */
export function viewOf(snap: ClusterSnapshot, partitions: number): ClusterView {
  return {
    partitions,
    members: snap.members.map((m) => m.node),
    draining: new Set(snap.members.filter((m) => m.leaving || m.drained).map((m) => m.node)),
    owners: snap.owners,
  };
}
