import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ActorContext } from "../../src/ports/actor.js";
import { createDeviceActor } from "./device.actor.js";
import type { DeviceMsg } from "./device.messages.js";
import type { DeviceState } from "./device-state.js";
import { EMPTY_F64, MetricArena, SLAB_UNITS, sizeClass } from "./metric-arena.js";
import type { BlockRef } from "./metric-arena.js";

const ref = (): BlockRef => ({ f64: EMPTY_F64, f32: new Float32Array(0), base: 0, units: 0 });

describe("metric arena", () => {
  it("rounds requests up to size classes", () => {
    expect([1, 8, 9, 75, 1024, 1025, 1090].map(sizeClass)).toEqual([8, 8, 16, 80, 1024, 1088, 1152]);
  });

  it("hands out disjoint zeroed blocks and reuses released ones of the same class", () => {
    const arena = new MetricArena();
    const a = ref();
    const b = ref();
    arena.alloc(a, 75);
    arena.alloc(b, 75);
    expect(a.f64).toBe(b.f64); // same slab
    expect(Math.abs(a.base - b.base)).toBeGreaterThanOrEqual(80);
    a.f64.fill(7, a.base, a.base + a.units);
    const at = a.base;
    arena.release(a);
    expect(a.units).toBe(0);
    arena.release(a); // a second release is a no-op
    expect(arena.stats()).toMatchObject({ blocks: 1, unitsInUse: 80, unitsFree: 80 });
    const c = ref();
    arena.alloc(c, 80);
    expect(c.base).toBe(at);
    expect([...c.f64.subarray(c.base, c.base + c.units)].every((v) => v === 0)).toBe(true);
    expect(arena.stats()).toMatchObject({ blocks: 2, unitsFree: 0 });
  });

  it("opens a new slab when one is full and gives very large blocks their own buffer", () => {
    const arena = new MetricArena();
    const refs = Array.from({ length: SLAB_UNITS / 1024 + 1 }, () => {
      const r = ref();
      arena.alloc(r, 1024);
      return r;
    });
    expect(arena.stats().slabs).toBe(2);
    expect(refs.at(-1)!.f64).not.toBe(refs[0]!.f64);
    const big = ref();
    arena.alloc(big, SLAB_UNITS);
    expect(big.f64.length).toBe(SLAB_UNITS);
    arena.release(big);
    expect(arena.stats()).toMatchObject({ slabs: 2, blocks: refs.length, unitsFree: 0 });
  });
});

describe("metric arena, empty slabs", () => {
  it("gives a slab back once every block in it is free (not the one being filled)", () => {
    const arena = new MetricArena();
    const per = SLAB_UNITS / 1024;
    const first = Array.from({ length: per }, () => {
      const r = ref();
      arena.alloc(r, 1024);
      return r;
    });
    const second = ref();
    arena.alloc(second, 1024); // opens slab 2
    expect(arena.stats().slabs).toBe(2);
    for (const r of first.slice(1)) arena.release(r);
    expect(arena.stats()).toMatchObject({ slabs: 2, unitsFree: (per - 1) * 1024 });
    arena.release(first[0]!);
    expect(arena.stats()).toMatchObject({ slabs: 1, blocks: 1, unitsInUse: 1024, unitsFree: 0 });
    arena.release(second); // the slab being filled stays
    expect(arena.stats()).toMatchObject({ slabs: 1, blocks: 0, unitsFree: 1024 });
    const again = ref();
    arena.alloc(again, 1020); // same size class: the freed block
    expect(arena.stats()).toMatchObject({ slabs: 1, blocks: 1, unitsFree: 0 });
  });
});

describe("device actors sharing an arena", () => {
  const ctx = (): ActorContext<DeviceMsg> => ({
    self: { type: "device", id: "x" },
    now: () => 0,
    send() {},
    emit() {},
    write() {},
    call() {},
    setTimer() {},
    cancelTimer() {},
  });
  const reading = (id: string, seq: number, v: number, extra: boolean): DeviceMsg => ({
    type: "reading",
    reading: { deviceId: id, seq, tsMs: 1_700_000_000_000 + seq * 1000, metrics: extra ? { temp: v, hum: v / 2 } : { temp: v } },
    streamSeq: seq,
  });

  it("never share a block: actors passivated (dispose) and restored at random end as if never passivated", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(2), fc.double({ min: -100, max: 100, noNaN: true }), fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 500 }), (steps) => {
        const churned = createDeviceActor({ explainAnomalies: false });
        const steady = createDeviceActor({ explainAnomalies: false });
        const live = new Map<string, DeviceState>();
        const ref = new Map<string, DeviceState>();
        const saved = new Map<string, Uint8Array>();
        const seqs = new Map<string, number>();
        for (const [d, v, extra, passivate] of steps) {
          const id = `d${d}`;
          const seq = (seqs.get(id) ?? 0) + 1;
          seqs.set(id, seq);
          let s = live.get(id) ?? (saved.has(id) ? churned.restore(saved.get(id)!, id) : churned.initial(id));
          s = churned.receive(s, reading(id, seq, v, extra), ctx());
          ref.set(id, steady.receive(ref.get(id) ?? steady.initial(id), reading(id, seq, v, extra), ctx()));
          if (passivate) {
            saved.set(id, churned.snapshot(s));
            churned.dispose!(s);
            live.delete(id);
          } else {
            live.set(id, s);
          }
        }
        for (const [id, r] of ref) {
          const s = live.get(id) ?? churned.restore(saved.get(id)!, id);
          expect(churned.snapshot(s)).toEqual(steady.snapshot(r));
        }
      }),
      { numRuns: 60 },
    );
  });
});
