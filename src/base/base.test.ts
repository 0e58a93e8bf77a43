import { describe, expect, it } from "vitest";
import { backoffMs } from "./backoff.js";
import { sleep, withTimeout } from "./clock.js";
import { describeError, errorMessage, isRetryable, ShoalError } from "./errors.js";
import { fnv1a32 } from "./hash.js";
import { SimClock } from "./testing/sim-clock.js";
import { varintSize } from "./varint.js";

describe("base", () => {
  it("fnv1a32 matches the reference vectors (partition assignments are persisted)", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
  });

  it("varintSize is the unsigned LEB128 length", () => {
    expect([0, 127, 128, 16_383, 16_384, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER].map(varintSize)).toEqual([1, 1, 2, 2, 3, 5, 8]);
  });

  it("backoffMs doubles from the base up to the cap", () => {
    expect([0, 1, 2, 3, 10, 2000].map((a) => backoffMs(a, 100, 1000))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it("ShoalError takes (message, options); errorMessage and describeError format anything thrown", () => {
    const cause = new RangeError("bad");
    const e = new ShoalError("outer", { code: "timeout", retryable: true, cause });
    expect([e.name, e.code, e.retryable, e.cause, isRetryable(e)]).toEqual(["ShoalError", "timeout", true, cause, true]);
    expect(new ShoalError("x")).toMatchObject({ code: "internal", retryable: false });
    expect(describeError(new Error("top", { cause: e }))).toBe("top (cause: ShoalError: outer (cause: RangeError: bad))");
    expect(describeError(undefined)).toBe("");
    expect([errorMessage(e), errorMessage("s"), errorMessage({ message: "m" }), errorMessage(3)]).toEqual(["outer", "s", "m", "3"]);
  });

  it("sleep and withTimeout run on the clock they are given; sleep rejects when aborted", async () => {
    const clock = new SimClock(0);
    let woke = false;
    void sleep(50, clock).then(() => (woke = true));
    await clock.advance(49);
    expect(woke).toBe(false);
    await clock.advance(1);
    expect(woke).toBe(true);

    const slow = withTimeout(new Promise(() => {}), 10, clock, "too slow");
    const fast = withTimeout(Promise.resolve(1), 10, clock, "too slow");
    await clock.advance(10);
    await expect(slow).rejects.toMatchObject({ message: "too slow", code: "timeout", retryable: true });
    await expect(fast).resolves.toBe(1);
    expect(clock.pending).toBe(0);

    const ac = new AbortController();
    const p = sleep(1000, clock, ac.signal);
    ac.abort(new ShoalError("stop"));
    await expect(p).rejects.toThrow("stop");
    expect(clock.pending).toBe(0);
  });

  it("SimClock: advanceSync runs due callbacks at once, in time order, each at its own time", () => {
    const clock = new SimClock(0);
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(clock.now()), 20);
    const h = clock.setTimeout(() => seen.push(-1), 15);
    clock.setTimeout(() => seen.push(clock.now()), 10);
    clock.clearTimeout(h);
    clock.advanceSync(25);
    expect(seen).toEqual([10, 20]);
    expect(clock.now()).toBe(25);
  });
});
