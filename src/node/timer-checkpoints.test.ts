import { describe, expect, it } from "vitest";
import { agedTimers, type PartitionTimer } from "../ports/actor-host.js";
import { SimClock } from "../base/testing/sim-clock.js";
import { MemorySnapshotStore } from "../runtime/testing/memory-snapshot-store.js";
import { TimerCheckpoints } from "./timer-checkpoints.js";

const timer = (id: string, inMs: number): PartitionTimer => ({ actorType: "device", actorId: id, name: "heartbeat", inMs, msg: { type: "heartbeat-timeout" } });
const flush = () => new Promise((r) => setImmediate(r));

function setup() {
  const clock = new SimClock(1_000_000);
  const store = new MemorySnapshotStore();
  const owned = new Set([0, 1]);
  const pending = new Map<number, PartitionTimer[]>([
    [0, [timer("a", 5000)]],
    [1, [timer("b", 7000)]],
  ]);
  let hold: Promise<void> | null = null;
  const errors: string[] = [];
  const cp = new TimerCheckpoints(
    {
      pendingTimers: async (p) => {
        if (hold !== null) await hold;
        return pending.get(p) ?? [];
      },
      putTimers: (p, t, at) => store.putTimers(p, t, at),
      owned: () => [...owned],
      clock,
      onError: (p, err) => errors.push(`${p}: ${err.message}`),
    },
    1000,
  );
  return { clock, store, owned, pending, cp, errors, holdWith: (h: Promise<void> | null) => (hold = h) };
}

describe("TimerCheckpoints", () => {
  it("keeps every owned partition's timers each round, with the time they were read at", async () => {
    const { clock, store, cp } = setup();
    cp.start();
    expect(store.timers.size).toBe(0);
    clock.advanceSync(1000);
    await flush();
    expect(store.timers.get(0)).toEqual({ timers: [timer("a", 5000)], savedAtMs: 1_001_000 });
    expect(store.timers.get(1)).toEqual({ timers: [timer("b", 7000)], savedAtMs: 1_001_000 });
    expect(cp.saves).toBe(2);
    // Read 3 s later by the next owner: 3 s less left.
    expect(await store.readTimers(0, 1_004_000)).toEqual([timer("a", 2000)]);
    clock.advanceSync(1000);
    await flush();
    expect(cp.saves).toBe(4);
    await cp.stop();
    clock.advanceSync(5000);
    await flush();
    expect(cp.saves).toBe(4);
  });

  it("does not overwrite what a release wrote: a partition let go during a save is not saved", async () => {
    const { clock, store, owned, cp, holdWith } = setup();
    let release: () => void = () => {};
    holdWith(new Promise<void>((r) => (release = r)));
    cp.start();
    clock.advanceSync(1000);
    await flush();
    // Partition 0 is released meanwhile: the role stops owning it, waits, then writes its timers.
    owned.delete(0);
    const quiet = cp.quiesce(0);
    release();
    await quiet;
    await store.putTimers(0, [timer("a", 4321)], 1_001_500);
    await flush();
    clock.advanceSync(1000);
    await flush();
    expect(store.timers.get(0)).toEqual({ timers: [timer("a", 4321)], savedAtMs: 1_001_500 });
    await cp.stop();
  });

  it("reports a failed save and tries again next round", async () => {
    const { clock, store, cp, errors } = setup();
    store.failWith = new Error("kv down");
    cp.start();
    clock.advanceSync(1000);
    await flush();
    expect(errors).toEqual(["0: kv down", "1: kv down"]);
    store.failWith = null;
    clock.advanceSync(1000);
    await flush();
    expect(cp.saves).toBe(2);
    await cp.stop();
  });
});

describe("agedTimers", () => {
  it("takes the time since the timers were read off what they had left, never below 0", () => {
    expect(agedTimers([timer("a", 5000), timer("b", 200)], 1000, 1500)).toEqual([timer("a", 4500), timer("b", 0)]);
    expect(agedTimers([timer("a", 5000)], undefined, 1500)).toEqual([timer("a", 5000)]);
    expect(agedTimers([timer("a", 5000)], 2000, 1500)).toEqual([timer("a", 5000)]); // clock behind: nothing taken off
  });
});
