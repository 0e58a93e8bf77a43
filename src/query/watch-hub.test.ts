import { describe, expect, it } from "vitest";
import type { Row } from "../ports/row-sink.js";
import { SimClock } from "../base/testing/sim-clock.js";
import { WatchHub } from "./watch-hub.js";
import { ManualFeed } from "./testing/manual-feed.js";

const reading = (seq: number): Row => ({ device_id: "d-1", seq, ts_ms: 1_000 + seq, metric_names: ["t"], metric_values: [seq], metric_scores: [0], score: 0 });
const analysis = (seq: number): Row => ({ device_id: "d-1", seq, ts_ms: 1_000 + seq, metric: "t", score: 0.99 });
/** Enough turns of the event loop for the generator to take what was routed. */
const settle = () => new Promise((r) => setTimeout(r, 5));

/** What a watcher was sent, as "r1", "r1+r2" (one `readings` message), "a3". */
function label(item: { item?: { case?: string; value?: unknown } }): string {
  const i = item.item!;
  if (i.case === "readings") return (i.value as { readings: { seq: bigint }[] }).readings.map((r) => `r${r.seq}`).join("+");
  return `${i.case === "reading" ? "r" : "a"}${(i.value as { seq: bigint }).seq}`;
}

/** A watcher of d-1 on `hub` collecting what it is sent (as `show` prints it) until `stop`. */
function watching(hub: WatchHub, coalesceMs: number, show: (item: { item?: { case?: string; value?: unknown } }) => string = label) {
  const ac = new AbortController();
  const got: string[] = [];
  const done = (async () => {
    for await (const item of hub.watch("d-1", ac.signal, coalesceMs)) got.push(show(item));
  })();
  return {
    got,
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

describe("WatchHub coalescing", () => {
  it("sends the readings of a wait together, and an analysis behind them ends the wait at once, in order", async () => {
    const clock = new SimClock(0);
    const feed = new ManualFeed();
    const hub = new WatchHub(feed, { maxWatchers: 4, bufferItems: 100, clock });
    const { got, stop } = watching(hub, 100);
    await settle();
    feed.listener!("readings", [reading(1)]);
    await settle();
    feed.listener!("readings", [reading(2), reading(3)]);
    await settle();
    // Held: nothing sent before the wait is over.
    expect(got).toEqual([]);
    clock.advanceSync(99);
    await settle();
    expect(got).toEqual([]);
    clock.advanceSync(1);
    await settle();
    expect(got).toEqual(["r1+r2+r3"]);
    // An analysis behind a waiting reading sends both without waiting for the clock.
    feed.listener!("readings", [reading(4)]);
    await settle();
    feed.listener!("analyses", [analysis(4)]);
    feed.listener!("readings", [reading(5)]);
    await settle();
    expect(got).toEqual(["r1+r2+r3", "r4", "a4"]);
    clock.advanceSync(100);
    await settle();
    expect(got).toEqual(["r1+r2+r3", "r4", "a4", "r5"]);
    await stop();
    expect(feed.listener).toBeUndefined();
  });

  it("ends the wait when half of the watcher's buffer is held, so a fast client is not cut off", async () => {
    const feed = new ManualFeed();
    const hub = new WatchHub(feed, { maxWatchers: 4, bufferItems: 4, clock: new SimClock(0) });
    const { got, stop } = watching(hub, 1000);
    await settle();
    for (let round = 0; round < 5; round++) {
      feed.listener!("readings", [reading(2 * round + 1), reading(2 * round + 2)]);
      await settle();
    }
    // Never more than 4 waiting: every two readings went out at once, with no clock advanced.
    expect(got).toEqual(["r1+r2", "r3+r4", "r5+r6", "r7+r8", "r9+r10"]);
    expect(hub.cutOff).toBe(0);
    await stop();
  });

  it("without coalescing sends each reading alone, as before", async () => {
    const feed = new ManualFeed();
    const hub = new WatchHub(feed, { maxWatchers: 4, bufferItems: 100, clock: new SimClock(0) });
    const { got, stop } = watching(hub, 0, (item) => `${item.item!.case}`);
    await settle();
    feed.listener!("readings", [reading(1), reading(2)]);
    await settle();
    expect(got).toEqual(["reading", "reading"]);
    await stop();
  });

  it("ends a wait when the watcher is cancelled or cut off", async () => {
    const feed = new ManualFeed();
    const hub = new WatchHub(feed, { maxWatchers: 4, bufferItems: 2, clock: new SimClock(0) });
    const ac = new AbortController();
    const it1 = hub.watch("d-1", ac.signal, 1000)[Symbol.asyncIterator]();
    const next = it1.next();
    await settle();
    feed.listener!("readings", [reading(1), reading(2), reading(3)]);
    await expect(next).rejects.toThrow(/cut off/);
    const roomy = new WatchHub(feed, { maxWatchers: 4, bufferItems: 100, clock: new SimClock(0) });
    const it2 = roomy.watch("d-1", ac.signal, 1000)[Symbol.asyncIterator]();
    const next2 = it2.next();
    await settle();
    feed.listener!("readings", [reading(4)]);
    await settle();
    ac.abort();
    expect(await next2).toEqual({ done: true, value: undefined });
    expect([hub.watchers, roomy.watchers]).toEqual([0, 0]);
  });
});
