import { describe, expect, it } from "vitest";
import { fnv1a32 } from "../../base/hash.js";
import { placementOf } from "./placement.js";

const partitions = (n: number, owner = "node-a") => Array.from({ length: n }, (_, i) => ({ partition: i, owner, target: owner, pending: BigInt(i) }));

describe("placementOf", () => {
  it("finds the device's partition the way the runtime does, its owner and worker", () => {
    const p = fnv1a32("dev-42") % 64;
    const got = placementOf("dev-42", { partitions: partitions(64), workers: [{ index: 0, partitions: [] }, { index: 1, partitions: [p] }] }, "node-a");
    expect(got).toEqual({ partition: p, owner: "node-a", target: "node-a", worker: 1, pending: p });
  });

  it("falls back to the pinning rule when no worker lists the partition", () => {
    const p = fnv1a32("dev-1") % 8;
    expect(placementOf("dev-1", { partitions: partitions(8), workers: [{ index: 0, partitions: [] }, { index: 1, partitions: [] }, { index: 2, partitions: [] }] })?.worker).toBe(p % 3);
  });

  it("tells no worker when another node owns the partition, nothing without a partition map", () => {
    expect(placementOf("dev-1", { partitions: partitions(8, "node-b"), workers: [{ index: 0, partitions: [] }] }, "node-a")?.worker).toBeUndefined();
    expect(placementOf("dev-1", { partitions: [], workers: [] })).toBeUndefined();
  });

  it("on a single node (no partition map) takes the partitions from the workers, which own them all", () => {
    const workers = [
      { index: 0, partitions: [0, 2, 4, 6] },
      { index: 1, partitions: [1, 3, 5, 7] },
    ];
    const p = placementOf("dev-1", { partitions: [], workers }, "up-1")!;
    expect(p.partition).toBe(fnv1a32("dev-1") % 8);
    expect(p.worker).toBe(p.partition % 2);
    expect(p.owner).toBe("up-1");
  });
});
