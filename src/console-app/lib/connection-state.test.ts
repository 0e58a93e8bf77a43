import { describe, expect, it } from "vitest";
import { createConnectionStore, reconnectDelayMs, summarize } from "./connection-state.js";

describe("connection state", () => {
  it("sums the streams up in one stable sentence", () => {
    expect(summarize([], true)).toEqual({ level: "idle", text: "Connected" });
    expect(summarize([{ state: "live", sinceMs: 1 }], true)).toEqual({ level: "live", text: "Live" });
    expect(summarize([{ state: "live", sinceMs: 1 }, { state: "connecting" }], true).level).toBe("connecting");
    expect(summarize([{ state: "connecting" }, { state: "retrying", error: "the server cannot be reached", retryAtMs: 9 }], true)).toEqual({ level: "retrying", text: "Reconnecting: the server cannot be reached" });
    expect(summarize([{ state: "live", sinceMs: 1 }], false).level).toBe("offline");
  });

  it("notifies subscribers and forgets closed streams", () => {
    const store = createConnectionStore();
    let calls = 0;
    const off = store.subscribe(() => calls++);
    store.set("fleet", { state: "connecting" });
    store.set("fleet", { state: "live", sinceMs: 1 });
    expect(store.statuses()).toEqual([{ state: "live", sinceMs: 1 }]);
    store.set("fleet", undefined);
    expect(store.statuses()).toEqual([]);
    off();
    store.set("x", { state: "connecting" });
    expect(calls).toBe(3);
  });

  it("backs off 1 s doubling to 30 s with ±20 % jitter", () => {
    expect(reconnectDelayMs(0, 0.5)).toBe(1000);
    expect(reconnectDelayMs(3, 0.5)).toBe(8000);
    expect(reconnectDelayMs(10, 0.5)).toBe(30_000);
    expect(reconnectDelayMs(1000, 0.5)).toBe(30_000);
    expect(reconnectDelayMs(0, 0)).toBe(800);
    expect(reconnectDelayMs(0, 1)).toBe(1200);
  });
});
