import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { SimClock, flush } from "../base/testing/sim-clock.js";
import type { FleetQuery, FleetRow } from "../ports/read-model.js";
import { FleetHub, MAX_FLEET_TOP, type FleetHubOptions } from "./fleet-hub.js";

/** The fleet hub on a simulated clock and an in-memory fleet query. */
const OPTS: FleetHubOptions = { intervalMs: 2000, offlineAfterMs: 300_000, rateWindowMs: 60_000, anomalyWindowMs: 3_600_000, maxWatchers: 3 };

interface Call {
  readonly q: FleetQuery;
  readonly signal: AbortSignal;
  resolve(r: FleetRow): void;
  reject(e: unknown): void;
}

const rowOf = (n: number): FleetRow => ({
  devices: n,
  online: 1,
  offline: 2,
  silent: n - 3,
  readingsInRateWindow: 120 * n,
  anomaliesInRateWindow: 3,
  incidentsInRateWindow: 2,
  top: Array.from({ length: MAX_FLEET_TOP }, (_, i) => ({ deviceId: `d-${i}`, anomalies: 100 - i, incidents: 50 - i, maxScore: 0.9, lastAnomalyMs: 1000 + i })),
});

/** A fleet query answering at once (`manual` false) or when the test says. */
function fakeFleet(manual = false) {
  const calls: Call[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const fleet = (q: FleetQuery, signal: AbortSignal) =>
    new Promise<FleetRow>((resolve, reject) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const done = () => inFlight--;
      signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
      const call: Call = { q, signal, resolve: (r) => (done(), resolve(r)), reject: (e) => (done(), reject(e)) };
      calls.push(call);
      if (!manual) call.resolve(rowOf(calls.length + 3));
    });
  return { fleet, calls, maxInFlight: () => maxInFlight };
}

function setup(manual = false, opts: Partial<FleetHubOptions> = {}) {
  const clock = new SimClock(1_800_000_000_000);
  const f = fakeFleet(manual);
  const errors: unknown[] = [];
  const hub = new FleetHub({ fleet: f.fleet, clock, onError: (e) => errors.push(e) }, { ...OPTS, ...opts });
  return { clock, hub, errors, ...f };
}

/** A watcher: its generator, an abort controller, and what it received so far (read as fast as it comes). */
function watcher(hub: FleetHub, top = 10) {
  const ctrl = new AbortController();
  const got: Array<{ atMs: bigint; devices: bigint; top: number; ingestPerS: number; anomaliesPerMin: number; incidentsPerMin: number }> = [];
  const it = hub.watch(top, ctrl.signal);
  const done = (async () => {
    for await (const r of it) got.push({ atMs: r.atMs as bigint, devices: r.devices as bigint, top: r.top?.length ?? 0, ingestPerS: r.ingestPerS as number, anomaliesPerMin: r.anomaliesPerMin as number, incidentsPerMin: r.incidentsPerMin as number });
  })();
  return { ctrl, got, done, it };
}

describe("FleetHub", () => {
  it("computes once per interval however many watch, and every watcher gets every snapshot", async () => {
    const { clock, hub, calls } = setup();
    const ws = [watcher(hub, 5), watcher(hub, 10), watcher(hub, 100)];
    await flush();
    expect(hub.watchers).toBe(3);
    await clock.advance(3 * OPTS.intervalMs);
    expect(calls).toHaveLength(4);
    expect(calls.map((c) => c.q.nowMs - calls[0]!.q.nowMs)).toEqual([0, 2000, 4000, 6000]);
    expect(calls[0]!.q).toMatchObject({ offlineAfterMs: 300_000, rateWindowMs: 60_000, anomalyWindowMs: 3_600_000, top: MAX_FLEET_TOP });
    for (const w of ws) expect(w.got.map((g) => g.devices)).toEqual([4n, 5n, 6n, 7n]);
    expect(ws.map((w) => w.got[0]!.top)).toEqual([5, 10, 100]);
    // 120·n readings over 60 s, 3 anomalies in 2 incidents over one minute.
    expect(ws[0]!.got[0]).toMatchObject({ ingestPerS: 8, anomaliesPerMin: 3, incidentsPerMin: 2 });
    for (const w of ws) w.ctrl.abort();
    await Promise.all(ws.map((w) => w.done));
  });

  it("gives a new watcher the latest snapshot at once, without computing", async () => {
    const { clock, hub, calls } = setup();
    const a = watcher(hub);
    await clock.advance(500);
    expect(calls).toHaveLength(1);
    const b = watcher(hub);
    await flush();
    expect(b.got.map((g) => g.devices)).toEqual([4n]);
    expect(calls).toHaveLength(1);
    a.ctrl.abort();
    b.ctrl.abort();
    await Promise.all([a.done, b.done]);
  });

  it("keeps only the newest snapshot for a watcher that reads slowly", async () => {
    const { clock, hub, calls } = setup();
    const fast = watcher(hub);
    const ctrl = new AbortController();
    const slow = hub.watch(10, ctrl.signal);
    const first = await slow.next();
    expect(first.value).toMatchObject({ devices: 4n });
    // The slow client does not ask for more for 10 intervals.
    await clock.advance(10 * OPTS.intervalMs);
    expect(calls).toHaveLength(11);
    const next = await slow.next();
    expect(next.value).toMatchObject({ devices: 14n, atMs: BigInt(calls[10]!.q.nowMs) });
    expect(hub.skipped).toBe(9);
    expect(fast.got).toHaveLength(11);
    ctrl.abort();
    expect((await slow.next()).done).toBe(true);
    fast.ctrl.abort();
    await fast.done;
  });

  it("stops computing when the last watcher leaves (aborting the computation in flight) and starts again with the next", async () => {
    const { clock, hub, calls } = setup(true);
    const a = watcher(hub);
    const b = watcher(hub);
    await flush();
    expect(calls).toHaveLength(1);
    a.ctrl.abort();
    await a.done;
    expect(calls[0]!.signal.aborted).toBe(false);
    b.ctrl.abort();
    await b.done;
    expect(calls[0]!.signal.aborted).toBe(true);
    expect(hub.watchers).toBe(0);
    await clock.advance(10 * OPTS.intervalMs);
    expect(calls).toHaveLength(1);
    expect(clock.pending).toBe(0);
    const c = watcher(hub);
    await flush();
    expect(calls).toHaveLength(2);
    calls[1]!.resolve(rowOf(42));
    await flush();
    expect(c.got.map((g) => g.devices)).toEqual([42n]);
    c.ctrl.abort();
    await c.done;
  });

  it("does not compute more often when watchers come and go, and drops a snapshot older than an interval", async () => {
    const { clock, hub, calls } = setup();
    const a = watcher(hub);
    await flush();
    a.ctrl.abort();
    await a.done;
    await clock.advance(1000);
    // Back within the interval: the latest at once, the next computation at the interval's end.
    const b = watcher(hub);
    await flush();
    expect(b.got.map((g) => g.devices)).toEqual([4n]);
    expect(calls).toHaveLength(1);
    await clock.advance(1000);
    expect(calls).toHaveLength(2);
    b.ctrl.abort();
    await b.done;
    await clock.advance(60_000);
    const c = watcher(hub);
    await flush();
    expect(c.got.map((g) => g.devices)).toEqual([6n]);
    expect(c.got[0]!.atMs).toBe(BigInt(clock.now()));
    c.ctrl.abort();
    await c.done;
  });

  it("lets a watcher go at its abort even when its client never reads again (no resume of the generator needed)", async () => {
    const { clock, hub, calls } = setup();
    const ctrl = new AbortController();
    const stuck = hub.watch(10, ctrl.signal);
    expect((await stuck.next()).value).toMatchObject({ devices: 4n });
    ctrl.abort();
    expect(hub.watchers).toBe(0);
    await clock.advance(5 * OPTS.intervalMs);
    expect(calls).toHaveLength(1);
    expect(clock.pending).toBe(0);
    expect((await stuck.next()).done).toBe(true);
  });

  it("kept warm: computes every keepWarmMs with nobody watching; a first watcher gets that at once and a fresh one an interval after it", async () => {
    const { clock, hub, calls } = setup(false, { keepWarmMs: 10_000 });
    hub.warm();
    await flush();
    expect(calls).toHaveLength(1);
    await clock.advance(25_000);
    expect(calls.map((c) => c.q.nowMs - calls[0]!.q.nowMs)).toEqual([0, 10_000, 20_000]);
    // 5 s after the last computation: the watcher gets it at once (5 s old) and a fresh one at once
    // (an interval, 2 s, has passed since it), then one per interval.
    const a = watcher(hub);
    await flush();
    expect(a.got.map((g) => Number(g.atMs) - calls[0]!.q.nowMs)).toEqual([20_000, 25_000]);
    await clock.advance(2000);
    expect(calls).toHaveLength(5);
    // The last watcher leaves: back to the warm pace (after the wait already under way), not stopped.
    a.ctrl.abort();
    await a.done;
    await clock.advance(30_000);
    expect(calls.map((c) => c.q.nowMs - calls[0]!.q.nowMs).slice(4)).toEqual([27_000, 29_000, 39_000, 49_000]);
    await hub.close();
    await clock.advance(30_000);
    expect(calls).toHaveLength(8);
  });

  it("warm() does nothing without keepWarmMs", async () => {
    const { clock, hub, calls } = setup();
    hub.warm();
    await clock.advance(60_000);
    expect(calls).toHaveLength(0);
  });

  it("never runs two computations at once: a slow one delays the next", async () => {
    const { clock, hub, calls, maxInFlight } = setup(true);
    const a = watcher(hub);
    await flush();
    await clock.advance(5 * OPTS.intervalMs);
    expect(calls).toHaveLength(1);
    calls[0]!.resolve(rowOf(7));
    await flush();
    // Overdue: the next starts at once, then the interval again.
    expect(calls).toHaveLength(2);
    calls[1]!.resolve(rowOf(8));
    await clock.advance(OPTS.intervalMs - 1);
    expect(calls).toHaveLength(2);
    await clock.advance(1);
    expect(calls).toHaveLength(3);
    expect(maxInFlight()).toBe(1);
    expect(a.got.map((g) => g.devices)).toEqual([7n, 8n]);
    a.ctrl.abort();
    await a.done;
  });

  it("reports a failed computation, keeps the watchers, and retries at the next interval", async () => {
    const { clock, hub, calls, errors } = setup(true);
    const a = watcher(hub);
    await flush();
    calls[0]!.reject(new Error("ClickHouse down"));
    await flush();
    expect(errors).toMatchObject([{ message: "ClickHouse down" }]);
    expect(hub.failures).toBe(1);
    expect(a.got).toHaveLength(0);
    await clock.advance(OPTS.intervalMs);
    expect(calls).toHaveLength(2);
    calls[1]!.resolve(rowOf(9));
    await flush();
    expect(a.got.map((g) => g.devices)).toEqual([9n]);
    a.ctrl.abort();
    await a.done;
  });

  it("refuses more than maxWatchers (RESOURCE_EXHAUSTED) and ends every watcher on close", async () => {
    const { hub, calls } = setup(false, { maxWatchers: 2 });
    const ws = [watcher(hub), watcher(hub)];
    await flush();
    const extra = hub.watch(10, new AbortController().signal);
    await expect(extra.next()).rejects.toMatchObject({ code: Code.ResourceExhausted });
    await hub.close();
    await Promise.all(ws.map((w) => w.done));
    expect(hub.watchers).toBe(0);
    expect(calls).toHaveLength(1);
    await expect(hub.watch(10, new AbortController().signal).next()).rejects.toMatchObject({ code: Code.Unavailable });
  });

  it("rejects options that are not whole numbers > 0, naming them", () => {
    const clock = new SimClock();
    expect(() => new FleetHub({ fleet: fakeFleet().fleet, clock }, { ...OPTS, intervalMs: 0 })).toThrow("FleetHub: intervalMs must be a whole number > 0, got 0");
    expect(() => new FleetHub({ fleet: fakeFleet().fleet, clock }, { ...OPTS, rateWindowMs: 1.5 })).toThrow("FleetHub: rateWindowMs must be a whole number > 0, got 1.5");
  });
});
