import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { rendezvousAssignment, rendezvousOwner } from "./rendezvous.js";
import { applyPlan, planStep, type ClusterView } from "./planner.js";

const nodeName = fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/);
const memberSet = fc.uniqueArray(nodeName, { minLength: 1, maxLength: 8 });

describe("rendezvous hashing", () => {
  it("picks a member, independently of the members' order", () => {
    fc.assert(
      fc.property(memberSet, fc.nat(1023), fc.nat(), (members, p, seed) => {
        const shuffled = [...members].sort((a, b) => ((a.charCodeAt(0) * 31 + seed) % 7) - ((b.charCodeAt(0) * 31 + seed) % 7) || (a < b ? -1 : 1));
        const owner = rendezvousOwner(p, members);
        expect(members).toContain(owner);
        expect(rendezvousOwner(p, shuffled)).toBe(owner);
      }),
    );
  });

  it("moves only the partitions the joining member wins, and only the leaving member's", () => {
    fc.assert(
      fc.property(memberSet, nodeName, fc.integer({ min: 1, max: 256 }), (members, joiner, partitions) => {
        fc.pre(!members.includes(joiner));
        const before = rendezvousAssignment(partitions, members);
        const after = rendezvousAssignment(partitions, [...members, joiner]);
        for (let p = 0; p < partitions; p++) if (after[p] !== before[p]) expect(after[p]).toBe(joiner);
        // Leaving is the mirror image.
        const left = rendezvousAssignment(partitions, members.slice(1));
        for (let p = 0; p < partitions; p++) if (left[p] !== before[p]) expect(before[p]).toBe(members[0]);
      }),
    );
  });

  it("spreads 64 partitions over 3 nodes within a reasonable band", () => {
    const a = rendezvousAssignment(64, ["node-1", "node-2", "node-3"]);
    const counts = ["node-1", "node-2", "node-3"].map((n) => a.filter((x) => x === n).length);
    for (const c of counts) expect(c).toBeGreaterThanOrEqual(12);
  });
});

/** An arbitrary cluster view: some members (some draining), owners among members, strangers (stale) or free. */
const viewArb = fc
  .record({
    partitions: fc.integer({ min: 1, max: 96 }),
    members: memberSet,
    drainMask: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    ownerPicks: fc.array(fc.integer({ min: -1, max: 8 }), { minLength: 96, maxLength: 96 }),
  })
  .map(({ partitions, members, drainMask, ownerPicks }): ClusterView => ({
    partitions,
    members,
    draining: new Set(members.filter((_, i) => drainMask[i])),
    owners: Array.from({ length: partitions }, (_, p) => {
      const k = ownerPicks[p]!;
      return k < 0 || k >= members.length ? undefined : members[k];
    }),
  }));

describe("planner", () => {
  it("converges to the rendezvous assignment with at most maxMoves partitions in motion after the first step", () => {
    fc.assert(
      fc.property(viewArb, fc.integer({ min: 1, max: 16 }), (start, maxMoves) => {
        let view = start;
        const bound = 2 * Math.ceil(start.partitions / maxMoves) + 4;
        let steps = 0;
        for (;;) {
          const plan = planStep(view, maxMoves);
          expect(plan.release.length).toBeLessThanOrEqual(maxMoves);
          for (const r of plan.release) expect(view.owners[r.partition]).toBe(r.node);
          for (const a of plan.acquire) expect(view.owners[a.partition]).toBeUndefined();
          const free = view.owners.filter((o) => o === undefined).length;
          if (steps > 0) expect(free + plan.release.length).toBeLessThanOrEqual(Math.max(maxMoves, free));
          if (plan.acquire.length === 0 && plan.release.length === 0) break;
          view = applyPlan(view, plan);
          steps++;
          expect(steps).toBeLessThanOrEqual(bound);
        }
        const eligible = start.members.filter((m) => !start.draining.has(m));
        if (eligible.length > 0) {
          // Converged: every partition is with its target, no draining member owns anything.
          expect(planStep(view, maxMoves).misplaced).toBe(0);
          for (const o of view.owners) expect(start.draining.has(o!)).toBe(false);
        } else {
          // Nobody may take partitions: nothing was released.
          expect(view.owners).toEqual(start.owners);
        }
      }),
    );
  });

  it("never plans to release a partition held by a stale (non-member) lock", () => {
    const view: ClusterView = { partitions: 4, members: ["a"], draining: new Set(), owners: ["ghost", undefined, "a", "ghost"] };
    const plan = planStep(view, 8);
    expect(plan.release).toEqual([]);
    expect(plan.acquire).toEqual([{ partition: 1, node: "a" }]);
    expect(plan.misplaced).toBe(3);
  });

  it("rejects a bad maxMoves", () => {
    expect(() => planStep({ partitions: 1, members: [], draining: new Set(), owners: [undefined] }, 0)).toThrow("maxMoves must be an integer >= 1, got 0");
  });
});
