import { describe, expect, it } from "vitest";
import { clusterLayout, decodeCluster, viewOf } from "./layout.js";
import { findOverlaps } from "./admin.js";
import { leaseOptions } from "./options.js";
import type { LeaseEvent } from "./layout.js";

const L = clusterLayout("shoal", "prod");

describe("cluster layout", () => {
  it("decodes members (locked keys only), owners by session, stale locks and drains", () => {
    const snap = decodeCluster(
      L,
      4,
      [
        { key: "shoal/prod/cluster/members/b", value: JSON.stringify({ startedAtMs: 5, pid: 7, leaving: true }), session: "sb", modifyIndex: 1, lockIndex: 1 },
        { key: "shoal/prod/cluster/members/a", value: "not json", session: "sa", modifyIndex: 1, lockIndex: 1 },
        { key: "shoal/prod/cluster/members/gone", value: "{}", modifyIndex: 1, lockIndex: 1 },
        { key: "shoal/prod/cluster/partitions/0", value: "{}", session: "sa", modifyIndex: 2, lockIndex: 1 },
        { key: "shoal/prod/cluster/partitions/1", value: "{}", session: "old", modifyIndex: 2, lockIndex: 1 },
        { key: "shoal/prod/cluster/partitions/2", value: "{}", modifyIndex: 2, lockIndex: 1 },
        { key: "shoal/prod/cluster/partitions/9", value: "{}", session: "sa", modifyIndex: 2, lockIndex: 1 },
        { key: "shoal/prod/cluster/drain/a", value: "{}", modifyIndex: 3, lockIndex: 0 },
      ],
      42,
    );
    expect(snap.members.map((m) => [m.node, m.leaving, m.drained, m.pid])).toEqual([
      ["a", false, true, 0],
      ["b", true, false, 7],
    ]);
    expect(snap.owners).toEqual(["a", "stale:old", undefined, undefined]);
    const view = viewOf(snap, 4);
    expect([...view.draining].sort()).toEqual(["a", "b"]);
    expect(view.members).toEqual(["a", "b"]);
  });
});

describe("lock history check", () => {
  const ev = (partition: number, node: string, event: LeaseEvent["event"], atMs: number, session = `s-${node}`): LeaseEvent => ({ partition, node, session, event, atMs, modifyIndex: 0, lockIndex: 0 });

  it("accepts back-to-back ownership and a killed owner ended at its death", () => {
    const h = [ev(0, "a", "acquired", 1), ev(0, "a", "released", 5), ev(0, "b", "acquired", 5), ev(1, "c", "acquired", 2), ev(1, "a", "acquired", 30)];
    expect(findOverlaps(h, (n) => (n === "c" ? 20 : Infinity))).toEqual([]);
  });

  it("reports two owners at once, including a killed owner still counted alive", () => {
    const h = [ev(0, "a", "acquired", 1), ev(0, "b", "acquired", 3), ev(0, "a", "released", 4), ev(1, "c", "acquired", 2), ev(1, "a", "acquired", 30)];
    const o = findOverlaps(h);
    expect(o.map((x) => [x.partition, x.first.node, x.second.node])).toEqual([
      [0, "a", "b"],
      [1, "c", "a"],
    ]);
  });

  it("tells sessions of one node apart (a rejoin after a lost session)", () => {
    const h = [ev(0, "a", "acquired", 1, "s1"), ev(0, "a", "lost", 4, "s1"), ev(0, "a", "acquired", 6, "s2")];
    expect(findOverlaps(h)).toEqual([]);
  });
});

describe("lease options", () => {
  it("fills defaults and names the option and rule of a bad value", () => {
    expect(leaseOptions({ nodeId: "n1", partitions: 64 })).toMatchObject({ sessionTtlMs: 10_000, lockDelayMs: 1_000, maxMoves: 8 });
    expect(() => leaseOptions({ nodeId: "n1", partitions: 64, sessionTtlMs: 5000 })).toThrow(
      "cluster option sessionTtlMs must be in [10000, 86400000] (Consul's session TTL range), got 5000",
    );
    expect(() => leaseOptions({ nodeId: "n 1", partitions: 64 })).toThrow("cluster option nodeId must be letters, digits, _, . and -, got n 1");
    expect(() => leaseOptions({ nodeId: "n1", partitions: 64, maxMoves: 0 })).toThrow("cluster option maxMoves must be an integer >= 1, got 0");
  });
});
