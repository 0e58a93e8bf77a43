import { describe, expect, it } from "vitest";
import { carriesBoot, counterKindOf, createFleetDevice, deviceIdOf, drainBacklog, fleetOptionsProblem, measure, nextSeq, type FleetDevice, type FleetOptions, type FleetReading } from "./fleet.js";

const T0 = 1_700_000_000_000;
const STEP_MS = 1000;
const metrics = { temperature: 21 };

/** Measure `n` readings at a fake 1 s step; returns every reading sent (flushed backlogs first) and the events. */
function run(d: FleetDevice, n: number, startIndex = 0) {
  const sent: FleetReading[] = [];
  let reboots = 0;
  let offline = 0;
  for (let i = 0; i < n; i++) {
    const m = measure(d, T0 + (startIndex + i) * STEP_MS, metrics);
    sent.push(...m.flushed);
    if (m.live !== undefined) sent.push(m.live);
    if (m.rebooted) reboots++;
    if (m.wentOffline) offline++;
  }
  return { sent, reboots, offline };
}

/** The first device index of `kind` under a mix that gives every device that kind. */
function deviceOf(kind: "bits8" | "none", o: FleetOptions = {}): FleetDevice {
  return createFleetDevice(0, { ...o, counterMix: kind === "bits8" ? { bits8: 1 } : { none: 1 } });
}

describe("counters", () => {
  it("an 8-bit counter wraps 255 → 0 over 1,000 readings", () => {
    const d = deviceOf("bits8");
    const seqs = run(d, 1000).sent.map((r) => r.seq);
    expect(seqs.slice(0, 3)).toEqual([1, 2, 3]);
    expect(seqs[254]).toBe(255);
    expect(seqs[255]).toBe(0);
    expect(seqs[256]).toBe(1);
    expect(seqs.every((s, i) => s === (i + 1) % 256)).toBe(true);
    expect(seqs.filter((s) => s === 0)).toHaveLength(3);
  });

  it("steps every width and has no seq without counter", () => {
    expect(nextSeq("bits16", 65535)).toBe(0);
    expect(nextSeq("bits32", 2 ** 32 - 1)).toBe(0);
    expect(nextSeq("unbounded", 2 ** 32 - 1)).toBe(2 ** 32);
    expect(nextSeq("none", 5)).toBeUndefined();
    const sent = run(deviceOf("none"), 5).sent;
    expect(sent.every((r) => r.seq === undefined)).toBe(true);
  });

  it("keeps today's behaviour by default: unbounded from seqStart, no boot, live", () => {
    const d = createFleetDevice(4, { seqStart: 10 });
    expect(d.id).toBe("dev-5");
    const { sent } = run(d, 1000);
    expect(sent.map((r) => r.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => 10 + i));
    expect(sent.every((r) => r.boot === undefined && r.ordinal === r.seq)).toBe(true);
  });

  it("gives a device without counter strictly increasing timestamps", () => {
    const d = deviceOf("none");
    const ts = [measure(d, T0, metrics), measure(d, T0, metrics), measure(d, T0 - 5, metrics)].map((m) => m.live!.tsMs);
    expect(ts).toEqual([T0, T0 + 1, T0 + 2]);
  });
});

describe("counterKindOf", () => {
  const mix = { none: 0.1, bits8: 0.05, bits16: 0.2, bits32: 0.15 };

  it("is deterministic from the device index", () => {
    const a = Array.from({ length: 1000 }, (_, i) => counterKindOf(i, mix));
    const b = Array.from({ length: 1000 }, (_, i) => counterKindOf(i, mix));
    expect(a).toEqual(b);
    expect(createFleetDevice(7, { counterMix: mix }).kind).toBe(counterKindOf(7, mix));
  });

  it("honours the fractions within ±30 % on 10,000 devices", () => {
    const counts = { none: 0, bits8: 0, bits16: 0, bits32: 0, unbounded: 0 };
    for (let i = 0; i < 10_000; i++) counts[counterKindOf(i, mix)]++;
    const expected = { ...mix, unbounded: 0.5 };
    for (const [k, f] of Object.entries(expected)) {
      expect(counts[k as keyof typeof counts]).toBeGreaterThan(f * 10_000 * 0.7);
      expect(counts[k as keyof typeof counts]).toBeLessThan(f * 10_000 * 1.3);
    }
    const bootCount = Array.from({ length: 10_000 }, (_, i) => carriesBoot(i, 0.5)).filter(Boolean).length;
    expect(bootCount).toBeGreaterThan(3500);
    expect(bootCount).toBeLessThan(6500);
  });

  it("gives every device unbounded without mix, and names devices by kind with counterPrefixes", () => {
    expect(counterKindOf(3, {})).toBe("unbounded");
    expect(deviceIdOf("p", 0, "unbounded", true)).toBe("p-1");
    expect(deviceIdOf("p", 1, "bits8", true)).toBe("p-s8-2");
    expect(deviceIdOf("p", 2, "bits16", true)).toBe("p-s16-3");
    expect(deviceIdOf("p", 3, "bits32", true)).toBe("p-s32-4");
    expect(deviceIdOf("p", 4, "none", true)).toBe("p-nc-5");
    expect(deviceIdOf("p", 4, "none", false)).toBe("p-5");
  });
});

describe("reboots", () => {
  /** Index of a device that carries (or not) a boot number at fraction 0.5. */
  const indexWithBoot = (want: boolean) => Array.from({ length: 100 }, (_, i) => i).find((i) => carriesBoot(i, 0.5) === want)!;

  it("restart the counter and increment boot, timestamps still increasing", () => {
    const d = createFleetDevice(indexWithBoot(true), { rebootRate: 0.02 });
    const { sent, reboots } = run(d, 1000);
    expect(reboots).toBeGreaterThan(5);
    expect(sent[0]).toMatchObject({ seq: 1, boot: 1 });
    for (let i = 1; i < sent.length; i++) {
      const [a, b] = [sent[i - 1]!, sent[i]!];
      expect(b.tsMs).toBeGreaterThan(a.tsMs);
      if (b.boot === a.boot) expect(b.seq).toBe(a.seq! + 1);
      else expect([b.boot, b.seq]).toEqual([a.boot! + 1, 1]);
    }
    expect(sent.at(-1)!.boot).toBe(1 + reboots);
  });

  it("send no boot for the other devices and restart wrapping counters at 0", () => {
    const d = createFleetDevice(indexWithBoot(false), { rebootRate: 1, counterMix: { bits16: 1 } });
    const seqs = run(d, 4).sent.map((r) => [r.seq, r.boot]);
    expect(seqs).toEqual([[1, undefined], [0, undefined], [0, undefined], [0, undefined]]);
  });

  it("are the same for the same seed and differ for another", () => {
    const pattern = (seed: number) => run(createFleetDevice(3, { rebootRate: 0.05, seed }), 500).sent.map((r) => r.seq);
    expect(pattern(7)).toEqual(pattern(7));
    expect(pattern(7)).not.toEqual(pattern(8));
  });
});

describe("offline periods", () => {
  it("buffer readings, then flush everything in order before the next live reading", () => {
    const d = createFleetDevice(0, { offlineRate: 1, offlineSec: 30 });
    const first = measure(d, T0, metrics);
    expect(first).toMatchObject({ live: undefined, wentOffline: true, flushed: [] });
    const held = run(d, 29, 1);
    expect(held.sent).toEqual([]);
    expect(d.backlog).toHaveLength(30);
    const back = measure(d, T0 + 30 * STEP_MS, metrics);
    expect(back.flushed.map((r) => r.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(back.flushed.map((r) => r.tsMs)).toEqual(Array.from({ length: 30 }, (_, i) => T0 + i * STEP_MS));
    expect(back.live).toMatchObject({ seq: 31, tsMs: T0 + 30 * STEP_MS });
    expect(d.backlog).toEqual([]);
  });

  it("lose no reading and keep the order over many periods", () => {
    const d = createFleetDevice(2, { offlineRate: 0.01, offlineSec: 20, rebootRate: 0.001, counterMix: { bits8: 1 } });
    const { sent, offline } = run(d, 5000);
    sent.push(...drainBacklog(d));
    expect(offline).toBeGreaterThan(10);
    expect(sent.map((r) => r.ordinal)).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
    expect(sent.every((r, i) => i === 0 || r.tsMs > sent[i - 1]!.tsMs)).toBe(true);
  });
});

describe("fleetOptionsProblem", () => {
  it("accepts the defaults and names a bad option", () => {
    expect(fleetOptionsProblem({})).toBeUndefined();
    expect(fleetOptionsProblem({ rebootRate: 2 })).toMatch(/^rebootRate/);
    expect(fleetOptionsProblem({ offlineSec: 0 })).toMatch(/^offlineSec/);
    expect(fleetOptionsProblem({ counterMix: { none: 0.6, bits8: 0.6 } })).toMatch(/add up to/);
    expect(fleetOptionsProblem({ counterMix: { bits16: -1 } })).toMatch(/bits16/);
  });
});
