import { rendezvousAssignment } from "./rendezvous.js";

/** What a node sees of the cluster at one moment (from Consul). */
export interface ClusterView {
  /** Partition count P. */
  readonly partitions: number;
  /** Live members (their session is valid), by node id. */
  readonly members: readonly string[];
  /** Members being drained: they keep what they own until it moves, but are never a target. */
  readonly draining: ReadonlySet<string>;
  /** Current lock holder of each partition (index = partition), `undefined` when free. */
  readonly owners: ReadonlyArray<string | undefined>;
}

/** One step of the rebalancing plan. */
export interface Plan {
  /** Target owner per partition (`undefined` when no member may own partitions). */
  readonly target: ReadonlyArray<string | undefined>;
  /** Free partitions and who should acquire them now. */
  readonly acquire: ReadonlyArray<{ partition: number; node: string }>;
  /** Owned partitions whose owner should release them now (bounded by `maxMoves`). */
  readonly release: ReadonlyArray<{ partition: number; node: string }>;
  /** Partitions whose owner differs from the target (0 = converged). */
  readonly misplaced: number;
}

/**
 * Computes the next step towards the rendezvous assignment over the non-draining members.
 * Every node computes the same plan from the same view and acts only on its own lines, so no
 * coordinator is needed. The number of partitions in motion (free, or owned by a node that must
 * release them) is bounded: releases are allowed only while fewer than `maxMoves` partitions are
 * free, and they are chosen in partition order, so a release in progress stays at the front and
 * counts until its lock is free. Free partitions are always handed to their target at once (a
 * free partition is not being processed by anyone; waiting only adds lag). A partition whose owner
 * is not a live member (a stale lock) is left alone: Consul frees it when the session expires.
 * With no eligible member (everyone draining), nothing is released.
 */
export function planStep(view: ClusterView, maxMoves: number): Plan {
  if (!Number.isInteger(maxMoves) || maxMoves < 1) throw new RangeError(`maxMoves must be an integer >= 1, got ${maxMoves}`);
  const live = new Set(view.members);
  const eligible = view.members.filter((m) => !view.draining.has(m));
  const target = rendezvousAssignment(view.partitions, eligible);
  const acquire: Array<{ partition: number; node: string }> = [];
  const mismatched: Array<{ partition: number; node: string }> = [];
  let free = 0;
  for (let p = 0; p < view.partitions; p++) {
    const owner = view.owners[p];
    const t = target[p];
    if (owner === undefined) {
      free++;
      if (t !== undefined) acquire.push({ partition: p, node: t });
    } else if (t !== undefined && owner !== t && live.has(owner)) {
      mismatched.push({ partition: p, node: owner });
    }
  }
  const budget = Math.max(0, maxMoves - free);
  const misplaced = target.reduce((n, t, p) => n + (t !== view.owners[p] ? 1 : 0), 0);
  return { target, acquire, release: mismatched.slice(0, budget), misplaced };
}

/**
 * Applies a plan to a view the way the nodes would (releases free the locks, acquires take them)
 * and returns the next view. For simulations and tests of convergence.
 */
export function applyPlan(view: ClusterView, plan: Plan): ClusterView {
  const owners = [...view.owners];
  for (const a of plan.acquire) if (owners[a.partition] === undefined) owners[a.partition] = a.node;
  for (const r of plan.release) if (owners[r.partition] === r.node) owners[r.partition] = undefined;
  return { ...view, owners };
}
