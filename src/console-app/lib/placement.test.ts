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
});
