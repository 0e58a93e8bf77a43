import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { acceptReading, newSeqState, placed, unwrap, Verdict, type SeqPolicy, type SeqState } from "./sequence-tracker.js";

const policy: SeqPolicy = { maxGaps: 1024, maxJump: 1_000_000, jumpConfirmations: 2, wrapBits: 0 };
const T0 = 1_700_000_000_000;

/** Feeds readings [seq, tsMs, boot?] and returns verdicts with where new ones went ("v e:seq"). */
function run(s: SeqState, readings: Array<[number, number, number?]>, p: SeqPolicy = policy): string[] {
  return readings.map(([seq, ts, boot]) => {
    const v = acceptReading(s, seq, boot, ts, p);
    return v === Verdict.New ? `new ${placed.epoch}:${placed.seq}${placed.restarted ? ` ${placed.restarted}` : ""}` : Object.keys(Verdict).find((k) => Verdict[k as keyof typeof Verdict] === v)!;
  });
}

const range = (from: number, n: number, ts0: number): Array<[number, number]> => Array.from({ length: n }, (_, i) => [from + i, ts0 + i * 1000]);

describe("sequence model", () => {
  it("accepts each seq exactly once under any reordering and duplication within the reorder window", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }).chain((n) =>
          fc.tuple(fc.constant(n), fc.shuffledSubarray(Array.from({ length: n }, (_, i) => i + 1), { minLength: n, maxLength: n }), fc.array(fc.integer({ min: 1, max: n }), { maxLength: 50 })),
        ),
        ([n, order, dups]) => {
          const s = newSeqState();
          const accepted: number[] = [];
          const stream = [...order];
          for (const d of dups) stream.splice(Math.floor((d * 7919) % (stream.length + 1)), 0, d);
          // Timestamps follow the device's counter (a duplicate carries its original timestamp).
          for (const q of stream) if (acceptReading(s, q, undefined, T0 + q, policy) === Verdict.New) accepted.push(q);
          expect(accepted.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
          expect(s.gaps).toBeNull();
          expect(s.hwm).toBe(n);
          expect(s.epoch).toBe(0);
        },
      ),
    );
  });

  it("a reboot (the counter starts again with later timestamps) starts a new epoch; nothing is a duplicate", () => {
    const s = newSeqState();
    const out = run(s, [...range(1, 20, T0), ...range(1, 20, T0 + 60_000)]);
    expect(out.filter((v) => v.startsWith("new")).length).toBe(40);
    expect(out[20]).toBe("new 1:1 inferred");
    expect(out[39]).toBe("new 1:20");
    // Redelivered readings of both epochs are duplicates, each in its own epoch.
    expect(run(s, [[5, T0 + 4000], [5, T0 + 64_000], [20, T0 + 79_000]])).toEqual(["Duplicate", "Duplicate", "Duplicate"]);
  });

  it("rebooted while offline, its first live reading before its buffer: the buffered readings of both counts are stored", () => {
    const s = newSeqState();
    // Count A: 1..117, one reading a second; 1..90 sent live. Reboot: count B 1..90 measured while
    // offline, buffered with A's 91..117; then B's 91 sent live before the buffer (as bench:fleet's
    // simulator did), the buffer in order, then B goes on live.
    const a = (q: number): [number, number] => [q, T0 + q * 1000];
    const b = (q: number): [number, number] => [q, T0 + (117 + q) * 1000];
    run(s, Array.from({ length: 90 }, (_, i) => a(i + 1)));
    const out = run(s, [b(91), ...Array.from({ length: 27 }, (_, i) => a(91 + i)), ...Array.from({ length: 90 }, (_, i) => b(i + 1)), b(92), b(93)]);
    // B's 91 looked like A's next reading (nothing tells them apart): stored in epoch 0. A's own 91
    // then meets it at the mark: a conflicting duplicate (dead-lettered with its payload, not lost).
    expect(out[0]).toBe("new 0:91");
    expect(out[1]).toBe("ConflictingDuplicate");
    expect(out.slice(2, 28).every((v) => v.startsWith("new 0:"))).toBe(true);
    // B's first buffered reading was measured after A's last (the mark): a restart.
    expect(out[28]).toBe("new 1:1 inferred");
    expect(out.slice(29)).toEqual([...Array.from({ length: 89 }, (_, i) => `new 1:${i + 2}`), "new 1:92", "new 1:93"]);
  });

  it("a straggler of the epoch before a restart is checked against that epoch", () => {
    const s = newSeqState();
    run(s, range(1, 20, T0)); // seq 1..20 at T0..T0+19s
    expect(run(s, [[1, T0 + 30_000]])).toEqual(["new 1:1 inferred"]);
    // seq 21 of the old epoch, measured before the reboot, arrives late
    expect(run(s, [[21, T0 + 20_000], [2, T0 + 31_000], [21, T0 + 20_000], [10, T0 + 9000]])).toEqual(["new 0:21", "new 1:2", "Duplicate", "Duplicate"]);
  });

  it("the first readings after a restart, overtaken by the next ones, still count in the new epoch", () => {
    const s = newSeqState();
    run(s, range(1, 117, T0)); // 1..117, the last at T0 + 116 s
    // after the reboot seq 2 and 3 arrive before seq 1; then a late reading of the old count
    expect(run(s, [[2, T0 + 200_000], [3, T0 + 201_000], [1, T0 + 199_000], [118, T0 + 117_000], [4, T0 + 202_000]])).toEqual([
      "new 1:2 inferred",
      "new 1:3",
      "new 1:1",
      "new 0:118",
      "new 1:4",
    ]);
    expect(run(s, [[1, T0 + 199_000], [118, T0 + 117_000], [5, T0]])).toEqual(["Duplicate", "Duplicate", "Duplicate"]);
  });

  it("one absurd seq never moves the mark: it is out of range and every sane reading after it is new", () => {
    const s = newSeqState();
    const out = run(s, [...range(1, 10, T0), [Number.MAX_SAFE_INTEGER, T0 + 10_000], ...range(11, 20, T0 + 11_000)]);
    expect(out[10]).toBe("OutOfRange");
    expect(out.filter((v) => v.startsWith("new 0:")).length).toBe(30);
    expect(s.hwm).toBe(30);
  });

  it("a jump is taken once the next readings continue from it", () => {
    const s = newSeqState();
    run(s, range(1, 5, T0));
    expect(run(s, range(50_000_000, 4, T0 + 10_000))).toEqual(["OutOfRange", "OutOfRange", "new 0:50000002", "new 0:50000003"]);
  });

  it("an 8-bit counter wraps over 1,000 readings: 1,000 new, stored as one growing counter; resent ones are duplicates", () => {
    const s = newSeqState();
    const p = { ...policy, wrapBits: 8, maxGaps: 64 };
    const out = run(s, Array.from({ length: 1000 }, (_, i) => [i % 256, T0 + i * 100] as [number, number]), p);
    expect(out.every((v, i) => v === `new 0:${i}`)).toBe(true);
    expect(run(s, [[999 % 256, T0 + 99_900], [998 % 256, T0 + 99_800]], p)).toEqual(["Duplicate", "Duplicate"]);
    // out of order across the wrap
    const w = newSeqState();
    expect(run(w, [[254, T0], [0, T0 + 200], [255, T0 + 100], [1, T0 + 300]], p)).toEqual(["new 0:254", "new 0:256", "new 0:255", "new 0:257"]);
  });

  it("an 8-bit counter out of order by most of a cycle: the timestamps tell a late reading from a wrap", () => {
    const s = newSeqState();
    const p = { ...policy, wrapBits: 8, maxGaps: 255 };
    // 0..599 arriving in blocks of 200, each block reversed: up to 199 places out of order.
    const order = [0, 200, 400].flatMap((b) => Array.from({ length: 200 }, (_, i) => b + 199 - i));
    const out = run(s, order.map((i) => [i % 256, T0 + i * 100] as [number, number]), p);
    expect(out).toEqual(order.map((i) => `new 0:${i}`));
  });

  it("an 8-bit device that restarts at 0 without a boot number: a jump within the counter, every reading stored", () => {
    const s = newSeqState();
    const p = { ...policy, wrapBits: 8, maxGaps: 64 };
    run(s, Array.from({ length: 100 }, (_, i) => [i, T0 + i] as [number, number]), p);
    expect(run(s, [[0, T0 + 1000], [1, T0 + 1001]], p)).toEqual(["new 0:256", "new 0:257"]);
    // with a boot number it is a new epoch
    expect(run(s, [[0, T0 + 2000, 2], [1, T0 + 2001, 2]], p)).toEqual(["new 1:0 boot", "new 1:1"]);
  });

  it("readings without a counter are new once per timestamp", () => {
    const s = newSeqState();
    const ten = Array.from({ length: 10 }, (_, i) => [0, T0 + i * 1000] as [number, number]);
    expect(run(s, ten).every((v) => v === "new 0:0")).toBe(true);
    expect(run(s, ten).every((v) => v === "Duplicate")).toBe(true);
  });

  it("an explicit boot number starts a new epoch; readings of the previous boot still count there", () => {
    const s = newSeqState();
    const b1 = range(1, 5, T0).map(([q, t]) => [q, t, 7] as [number, number, number]);
    const b2 = range(1, 5, T0 + 100_000).map(([q, t]) => [q, t, 8] as [number, number, number]);
    expect(run(s, b1)).toEqual(["new 0:1", "new 0:2", "new 0:3", "new 0:4", "new 0:5"]);
    expect(run(s, b2)[0]).toBe("new 1:1 boot");
    expect(run(s, [[6, T0 + 5000, 7], [3, T0 + 2000, 7], [3, T0 + 102_000, 8]])).toEqual(["new 0:6", "Duplicate", "Duplicate"]);
    // a boot number older than both epochs cannot be checked
    expect(run(s, [[1, T0 - 50_000, 6]])).toEqual(["StaleEpoch"]);
    // the same boot with an earlier seq and a later timestamp is no restart (the device says which boot it is in)
    expect(run(s, [[2, T0 + 200_000, 8]])).toEqual(["Duplicate"]);
  });

  it("the same seq with another timestamp is a conflicting duplicate (the first stays)", () => {
    const s = newSeqState();
    run(s, range(1, 3, T0));
    expect(run(s, [[3, T0 + 500], [3, T0 + 9000]])).toEqual(["ConflictingDuplicate", "ConflictingDuplicate"]);
    expect(s.hwm).toBe(3);
    expect(s.epoch).toBe(0);
  });

  it("below the reorder window after gaps were forgotten: too late to check", () => {
    const s = newSeqState();
    const p = { ...policy, maxGaps: 4 };
    // Six runs of missing seqs (2, 4, …, 12) in a window of four: the two oldest are forgotten.
    run(s, [1, 3, 5, 7, 9, 11, 13].map((q): [number, number] => [q, T0 + q]), p);
    expect(s.gaps).toEqual([6, 7, 8, 9, 10, 11, 12, 13]);
    expect(s.gapsForgotten).toBe(2);
    expect(run(s, [[2, T0 + 2], [3, T0 + 3], [12, T0 + 12], [11, T0 + 11]], p)).toEqual(["TooLate", "TooLate", "new 0:12", "Duplicate"]);
  });

  it("a gap is a run of missing seqs: one batch overtaken by the next leaves one gap, whatever its size", () => {
    const s = newSeqState();
    const p = { ...policy, maxGaps: 4 };
    // Batches of 50: the 2nd … 5th overtaken by the batch after each (4 gaps of 50 seqs, 200 readings).
    const batch = (k: number) => range(50 * k + 1, 50, T0 + 50_000 * k);
    const order = [0, 2, 4, 6, 8, 1, 3, 5, 7].flatMap(batch);
    const verdicts = run(s, order, p);
    expect(verdicts.filter((v) => v.startsWith("new"))).toHaveLength(order.length);
    expect(s.gaps).toBeNull();
    expect(s.gapsForgotten).toBe(0);
    // A filled seq inside a gap splits it in two.
    run(s, [[460, T0 + 460_000]], p);
    expect(s.gaps).toEqual([451, 460]);
    run(s, [[455, T0 + 455_000]], p);
    expect(s.gaps).toEqual([451, 455, 456, 460]);
  });

  it("a seq never seen is never called a duplicate: new, or too late to check once its gap was forgotten", () => {
    // Batches of up to 20 readings, each delayed by up to 12 batches (as shared MQTT connections
    // that fall behind each other deliver them), some sent twice; a window of only 4 gaps.
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 12 }), fc.boolean()), { minLength: 1, maxLength: 60 }), (spec) => {
        const p = { ...policy, maxGaps: 4 };
        const sent: Array<{ at: number; seqs: number[] }> = [];
        let next = 1;
        spec.forEach(([size, delay, twice], k) => {
          const seqs = Array.from({ length: size }, (_, i) => next + i);
          next += size;
          sent.push({ at: k + delay + 0.5, seqs });
          if (twice) sent.push({ at: k + delay + 3.25, seqs });
        });
        sent.sort((a, b) => a.at - b.at);
        const s = newSeqState();
        const seen = new Set<number>();
        for (const { seqs } of sent)
          for (const q of seqs) {
            const v = acceptReading(s, q, undefined, T0 + q, p);
            if (v === Verdict.New) {
              expect(seen.has(q)).toBe(false);
              seen.add(q);
            } else if (v === Verdict.Duplicate) expect(seen.has(q)).toBe(true);
            else expect(v).toBe(Verdict.TooLate);
          }
        expect(s.epoch).toBe(0);
        // Without forgetting, every seq is stored.
        if (s.gapsForgotten === 0) expect(seen.size).toBe(next - 1);
      }),
    );
  });

  it("with boot numbers, a reading never seen is never dropped as a duplicate: new, or dead-lettered (too late, stale epoch)", () => {
    // Boots of up to 40 readings counting from a random start, each reading delayed by up to 30
    // places, some sent twice; windows of 4 gaps and of the default 1024.
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 5000 })), { minLength: 1, maxLength: 5 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.boolean()), { minLength: 200, maxLength: 200 }),
        fc.constantFrom(4, 1024),
        (boots, delays, maxGaps) => {
          const p = { ...policy, maxGaps };
          const readings: Array<{ boot: number; seq: number; ts: number; at: number }> = [];
          let t = T0;
          boots.forEach(([n, start], b) => {
            for (let i = 0; i < n; i++) readings.push({ boot: 100 + b, seq: start + i, ts: (t += 1000), at: 0 });
          });
          const stream: typeof readings = [];
          readings.forEach((r, k) => {
            const [delay, twice] = delays[k % delays.length]!;
            stream.push({ ...r, at: k + delay + 0.5 });
            if (twice) stream.push({ ...r, at: k + delay + 7.25 });
          });
          stream.sort((a, b) => a.at - b.at);
          const s = newSeqState();
          const stored = new Set<string>();
          for (const r of stream) {
            const key = `${r.boot}/${r.seq}`;
            const v = acceptReading(s, r.seq, r.boot, r.ts, p);
            // (New twice is possible: a boot's reading re-sent after two later boots arrived before
            // older ones starts an epoch again. The model prefers storing twice to dropping.)
            if (v === Verdict.New) stored.add(key);
            else if (v === Verdict.Duplicate) expect(stored.has(key)).toBe(true);
            else expect([Verdict.TooLate, Verdict.StaleEpoch]).toContain(v);
          }
        },
      ),
    );
  });

  it("unwrap picks the nearest value with the same low bits", () => {
    expect(unwrap(5, 0, 8)).toBe(6);
    expect(unwrap(0, 256, 8)).toBe(257); // 255 → 0 wraps forward
    expect(unwrap(250, 258, 8)).toBe(251); // 257 ↔ 250: backwards by 7
    expect(unwrap(65535, 1, 16)).toBe(65536);
    expect(unwrap(10, 201, 8, 1)).toBe(267); // later than the mark (200): the next cycle's 10
    expect(unwrap(250, 201, 8, -1)).toBe(251); // earlier, but no cycle before the first: this one
    expect(unwrap(10, 201, 8, -1)).toBe(11);
  });
});
