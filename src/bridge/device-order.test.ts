import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { SimClock } from "../base/testing/sim-clock.js";
import type { Reading } from "../ports/reading.js";
import { DeviceOrder } from "./device-order.js";

const r = (deviceId: string, seq: number): Reading => ({ deviceId, seq, tsMs: seq * 1000, metrics: { t: seq } });

function stage(holdMs = 200, maxHeld = 10_000, maxHoldMs = holdMs) {
  const clock = new SimClock();
  const out: string[] = [];
  const order = new DeviceOrder<number>({ holdMs, maxHoldMs, maxDevices: 1000, maxHeld, clock }, (x, token) => out.push(`${x.deviceId}:${x.seq}/${token}`));
  return { clock, out, order };
}

describe("DeviceOrder: a device's readings in the order it counted them", () => {
  it("passes in-order readings at once and holds one that overtook an earlier one until it arrives", () => {
    const { out, order } = stage();
    order.offer(r("a", 1), 1);
    order.offer(r("a", 3), 3);
    order.offer(r("b", 1), 7); // another device is not held up
    expect(out).toEqual(["a:1/1", "b:1/7"]);
    expect(order.held).toBe(1);
    order.offer(r("a", 2), 2);
    expect(out).toEqual(["a:1/1", "b:1/7", "a:2/2", "a:3/3"]);
    expect(order.held).toBe(0);
    expect(order.stats).toEqual({ held: 1, timedOut: 0, late: 0 });
  });

  it("forgets the device seen least recently past maxDevices, a device's run of readings counting as one sighting", () => {
    const clock = new SimClock();
    const out: string[] = [];
    const order = new DeviceOrder<number>({ holdMs: 200, maxDevices: 2, maxHeld: 100, clock }, (x, token) => out.push(`${x.deviceId}:${x.seq}/${token}`));
    order.offer(r("a", 1), 0);
    order.offer(r("b", 1), 0);
    for (let q = 2; q <= 5; q++) order.offer(r("a", q), 0); // a is now the most recent, b the least
    order.offer(r("c", 1), 0); // b is forgotten, a kept
    order.offer(r("a", 6), 0);
    order.offer(r("b", 2), 0); // not remembered: a first sighting that skips ahead waits
    expect(out).toEqual(["a:1/0", "b:1/0", "a:2/0", "a:3/0", "a:4/0", "a:5/0", "c:1/0", "a:6/0"]);
    expect(order.held).toBe(1);
    order.offer(r("c", 3), 0); // c is remembered (its 2 is missing): it waits too
    expect(order.held).toBe(2);
  });

  it("any arrival order within the hold comes out in seq order per device (property)", () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(Array.from({ length: 60 }, (_, i) => i + 1), { minLength: 60, maxLength: 60 }), (arrival) => {
        const { out, order, clock } = stage();
        order.offer(r("d", 1), 1); // seq 1 first: the start is known
        for (const q of arrival.filter((q) => q !== 1)) order.offer(r("d", q), q);
        clock.advanceSync(1000);
        expect(out.map((s) => Number(s.split(":")[1]!.split("/")[0]))).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      }),
    );
  });

  it("releases what waited holdMs in seq order when the earlier reading never comes", () => {
    const { out, order, clock } = stage(200);
    order.offer(r("a", 1), 1);
    order.offer(r("a", 5), 5);
    order.offer(r("a", 4), 4);
    clock.advanceSync(199);
    expect(out).toEqual(["a:1/1"]);
    clock.advanceSync(1);
    expect(out).toEqual(["a:1/1", "a:4/4", "a:5/5"]);
    expect(order.stats.timedOut).toBe(2);
    order.offer(r("a", 6), 6); // continues from 5 now
    expect(out.at(-1)).toBe("a:6/6");
  });

  it("never holds duplicates, late readings or readings without seq; a restart waits holdMs (old readings may still come)", () => {
    const { out, order, clock } = stage();
    order.offer(r("a", 10), 10);
    expect(out).toEqual([]); // a device not seen yet waits for readings before it ...
    clock.advanceSync(200); // ... at most holdMs
    for (const q of [11, 11, 3, 0]) order.offer(r("a", q), q);
    order.offer({ ...r("a", 1), tsMs: 99_000 }, 1); // a restart: seq 1, later than everything
    expect(out).toEqual(["a:10/10", "a:11/11", "a:11/11", "a:3/3", "a:0/0"]);
    clock.advanceSync(200);
    expect(out.at(-1)).toBe("a:1/1");
    const seqless = stage();
    for (let i = 0; i < 3; i++) seqless.order.offer({ ...r("x", 0), tsMs: 5 - i }, i);
    expect(seqless.out).toEqual(["x:0/0", "x:0/1", "x:0/2"]);
  });

  it("the first reading of a device not seen yet waits for the ones before it; seq 1 does not", () => {
    const { out, order } = stage();
    order.offer(r("n", 3), 3);
    order.offer(r("n", 2), 2);
    order.offer(r("n", 1), 1);
    order.offer(r("m", 1), 1);
    expect(out).toEqual(["n:1/1", "n:2/2", "n:3/3", "m:1/1"]);
  });

  it("a reboot interleaved with the last readings before it: the old ones first, then the new count in time order", () => {
    const { out, order, clock } = stage();
    const at = (seq: number, tsMs: number): Reading => ({ deviceId: "a", seq, tsMs, metrics: { t: 1 } });
    order.offer(at(17, 17_000), 17);
    clock.advanceSync(200);
    order.offer(at(18, 18_000), 18);
    order.offer(at(2, 61_000), 102); // after the reboot, ahead of its seq 1
    order.offer(at(19, 19_000), 19);
    order.offer(at(1, 60_000), 101);
    order.offer(at(20, 20_000), 20);
    expect(out).toEqual(["a:17/17", "a:18/18", "a:19/19", "a:20/20"]);
    clock.advanceSync(200); // the new count goes once nothing older came within holdMs, in time order
    expect(out).toEqual(["a:17/17", "a:18/18", "a:19/19", "a:20/20", "a:1/101", "a:2/102"]);
    order.offer(at(3, 62_000), 103);
    expect(out.at(-1)).toBe("a:3/103");
  });

  it("an 8-bit counter wrapping: 0 continues from 255 (and waits for it)", () => {
    const { out, order, clock } = stage();
    const at = (seq: number, i: number): Reading => ({ deviceId: "w", seq, tsMs: i * 100, metrics: { t: 1 } });
    order.offer(at(254, 254), 1);
    clock.advanceSync(200);
    order.offer(at(0, 256), 3);
    order.offer(at(255, 255), 2);
    order.offer(at(1, 257), 4);
    expect(out.map((s) => s.split("/")[1])).toEqual(["1", "2", "3", "4"]); // 0 waited for 255
    expect(order.held).toBe(0);
  });

  it("a device without a counter sending all the time: every reading waits its own holdMs, so arrival jitter under it never reorders (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 149 }), { minLength: 40, maxLength: 120 }), (jitter) => {
        const { out, order, clock } = stage(200);
        // A burst (a backlog flushed, 100 readings a second), each arriving up to 149 ms after it was sent.
        // The device is known (its first reading since the bridge started goes at once: it cannot wait for earlier ones).
        order.offer({ deviceId: "nc", seq: 0, tsMs: clock.now(), metrics: { t: 1 } }, clock.now());
        clock.advanceSync(1_000);
        const t0 = clock.now();
        const arrivals = jitter.map((j, i) => ({ ts: t0 + i * 10, at: t0 + i * 10 + j })).sort((a, b) => a.at - b.at || a.ts - b.ts);
        for (const a of arrivals) {
          clock.advanceSync(a.at - clock.now());
          order.offer({ deviceId: "nc", seq: 0, tsMs: a.ts, metrics: { t: 1 } }, a.ts);
        }
        clock.advanceSync(1_000);
        const emitted = out.map((x) => Number(x.split("/")[1]));
        expect(emitted).toEqual([...emitted].sort((a, b) => a - b));
        expect(emitted).toHaveLength(jitter.length + 1);
      }),
    );
  });

  it("releases the oldest hold early beyond maxHeld, and everything on flush", () => {
    const { out, order } = stage(10_000, 2);
    order.offer(r("a", 1), 1);
    order.offer(r("b", 1), 1);
    order.offer(r("a", 3), 3);
    order.offer(r("b", 3), 3);
    expect(order.held).toBe(2);
    order.offer(r("b", 4), 4); // three held: a's hold goes
    expect(out).toEqual(["a:1/1", "b:1/1", "a:3/3"]);
    order.flush();
    expect(out).toEqual(["a:1/1", "b:1/1", "a:3/3", "b:3/3", "b:4/4"]);
    expect(order.held).toBe(0);
  });

  it("with holdMs 0 passes everything through unchanged", () => {
    const { out, order } = stage(0);
    for (const q of [1, 3, 2]) order.offer(r("a", q), q);
    expect(out).toEqual(["a:1/1", "a:3/3", "a:2/2"]);
  });

  it("counts a reading that comes after its successor gave up waiting, and then waits longer (up to maxHoldMs)", () => {
    const { out, order, clock } = stage(200, 10_000, 5000);
    const seqs = () => out.map((x) => Number(x.split(":")[1]!.split("/")[0]));
    order.offer(r("a", 1), 1);
    order.offer(r("a", 3), 3);
    clock.advanceSync(600); // 3 gave up waiting for 2 after 200 ms
    expect(seqs()).toEqual([1, 3]);
    order.offer(r("a", 2), 2); // 2 comes 600 ms after 3 had arrived: out of time order, counted
    expect(seqs()).toEqual([1, 3, 2]);
    expect(order.stats).toMatchObject({ timedOut: 1, late: 1 });
    expect(order.holdMs).toBe(900); // 1.5 × 600 ms
    // The same lateness again is now caught: 5 waits for 4 although 4 comes 600 ms after it.
    order.offer(r("a", 5), 5);
    clock.advanceSync(600);
    order.offer(r("a", 4), 4);
    expect(seqs()).toEqual([1, 3, 2, 4, 5]);
    expect(order.stats).toMatchObject({ timedOut: 1, late: 1 });
  });

  it("a late reading of a device without a counter is counted too; a reading older than the gap is not", () => {
    const { order, clock } = stage(200, 10_000, 5000);
    const t = (ms: number): Reading => ({ deviceId: "n", seq: 0, tsMs: ms, metrics: { t: 1 } });
    order.offer(t(1000), 1); // first: passes
    order.offer(t(3000), 3); // waits 200 ms, then goes (gap 1000..3000)
    clock.advanceSync(300);
    order.offer(t(500), 0); // older than the gap: a re-send, not a straggler the hold missed
    expect(order.stats.late).toBe(0);
    order.offer(t(2000), 2);
    expect(order.stats.late).toBe(1);
    expect(order.holdMs).toBe(450);
  });

  it("falls back to the base wait while it holds more than half of maxHeld", () => {
    const { order, clock } = stage(200, 10, 5000);
    order.offer(r("a", 1), 1);
    order.offer(r("a", 3), 3);
    clock.advanceSync(1000);
    order.offer(r("a", 2), 2); // 1 s late: the wait grows to 1.5 s
    expect(order.holdMs).toBe(1500);
    for (const d of ["b", "c", "d", "e", "f", "g"]) {
      order.offer(r(d, 1), 1);
      order.offer(r(d, 3), 3); // each device holds one reading that skipped ahead
    }
    expect(order.held).toBe(6);
    expect(order.holdMs).toBe(200);
    clock.advanceSync(400); // released at the next sweep (a quarter of the grown wait), past the base wait
    expect(order.held).toBe(0);
    expect(order.holdMs).toBe(1500);
  });

  it("with maxHoldMs equal to holdMs the wait stays fixed however late readings come", () => {
    const { order, clock } = stage(200);
    order.offer(r("a", 1), 1);
    order.offer(r("a", 3), 3);
    clock.advanceSync(2000);
    order.offer(r("a", 2), 2);
    expect(order.stats.late).toBe(1);
    expect(order.holdMs).toBe(200);
  });
});
