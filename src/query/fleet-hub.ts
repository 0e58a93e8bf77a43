import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { sleep } from "../base/clock.js";
import type { Clock } from "../ports/clock.js";
import type { FleetQuery, FleetRow } from "../ports/read-model.js";
import type { WatchFleetResponseSchema } from "../gen/shoal/v1/query_pb.js";

type Item = MessageInitShape<typeof WatchFleetResponseSchema>;

/** The most devices a WatchFleet top list may hold (the hub computes this many, watchers take their first N). */
export const MAX_FLEET_TOP = 100;

export interface FleetHubOptions {
  /** ms from the start of one computation to the start of the next (none overlap: a slow one delays the next). */
  readonly intervalMs: number;
  /** A device not heard from for this long is no longer online (query.offlineAfterMs). */
  readonly offlineAfterMs: number;
  /** Readings/s and anomalies/min are averaged over this many ms before each computation. */
  readonly rateWindowMs: number;
  /** The top list ranks devices by their anomalies over this many ms. */
  readonly anomalyWindowMs: number;
  /** Most watchers at once; one more is RESOURCE_EXHAUSTED. */
  readonly maxWatchers: number;
  /**
   * After {@link FleetHub.warm}: while nobody watches, compute every this many ms anyway, so the
   * first watcher (the first operator of the day) gets figures at once — at most this old, with
   * their time — and fresh ones an interval after the last computation. 0 or absent: compute only
   * while someone watches.
   */
  readonly keepWarmMs?: number;
}

export interface FleetHubDeps {
  /** The fleet's figures (ReadModel.fleet); `signal` aborts when the last watcher leaves. */
  readonly fleet: (q: FleetQuery, signal: AbortSignal) => Promise<FleetRow>;
  readonly clock: Clock;
  /** A computation failed; watchers keep the previous snapshot and the next interval retries. */
  readonly onError?: (err: unknown) => void;
}

/** One computation's result: the fleet at `atMs`. */
export interface FleetSnapshot {
  readonly atMs: number;
  readonly fleet: FleetRow;
}

interface Watcher {
  /** The newest snapshot this watcher has not been given yet (a newer one replaces it). */
  pending: FleetSnapshot | undefined;
  wake: (() => void) | undefined;
}

/**
 * The fleet page's figures for WatchFleet: ONE computation per interval however many watch, started
 * with the first watcher and stopped with the last (or, after `warm()`, kept going at the slower
 * `keepWarmMs` pace while nobody watches). A watcher gets the latest snapshot at once,
 * then each new one; one that reads slower than snapshots come keeps only the newest (a slot, not a
 * queue), so a slow client costs one snapshot. Time and timers come from `deps.clock`.
 */
export class FleetHub {
  private readonly set = new Set<Watcher>();
  private latest: FleetSnapshot | undefined;
  /** Aborts the running ticker; undefined while nobody watches. */
  private ticker: AbortController | undefined;
  /** The ticker's loop (a new one starts only after the previous one ended: no overlap). */
  private loop: Promise<void> = Promise.resolve();
  private lastStartMs = -Infinity;
  private closed = false;
  private warmed = false;
  /** Ends the ticker's current wait early (a first watcher came while it waited at the warm pace). */
  private nudge: AbortController | undefined;
  /** Computations started, failed, and snapshots a slow watcher never saw (replaced by newer ones), since start. */
  computations = 0;
  failures = 0;
  skipped = 0;

  constructor(
    private readonly deps: FleetHubDeps,
    private readonly opts: FleetHubOptions,
  ) {
    for (const k of ["intervalMs", "offlineAfterMs", "rateWindowMs", "anomalyWindowMs", "maxWatchers"] as const) {
      if (!(Number.isSafeInteger(opts[k]) && opts[k] > 0)) throw new RangeError(`FleetHub: ${k} must be a whole number > 0, got ${String(opts[k])}`);
    }
    const warm = opts.keepWarmMs ?? 0;
    if (!(Number.isSafeInteger(warm) && warm >= 0)) throw new RangeError(`FleetHub: keepWarmMs must be a whole number >= 0, got ${String(warm)}`);
  }

  /** Start computing without watchers, every `keepWarmMs` (a no-op when it is 0 or absent). */
  warm(): void {
    if ((this.opts.keepWarmMs ?? 0) <= 0 || this.closed) return;
    this.warmed = true;
    if (this.ticker === undefined) this.start();
  }

  get watchers(): number {
    return this.set.size;
  }

  /** The latest snapshot, if any. */
  get snapshot(): FleetSnapshot | undefined {
    return this.latest;
  }

  /**
   * Snapshots as responses with the `top` (0..MAX_FLEET_TOP) most anomalous devices, until `signal`
   * aborts or the hub closes. RESOURCE_EXHAUSTED when `maxWatchers` already watch.
   */
  async *watch(top: number, signal: AbortSignal): AsyncGenerator<Item> {
    if (this.closed) throw new ConnectError("the fleet hub is closed", Code.Unavailable);
    if (this.set.size >= this.opts.maxWatchers) throw new ConnectError(`more than ${this.opts.maxWatchers} fleet watchers`, Code.ResourceExhausted);
    if (signal.aborted) return;
    const n = Math.max(0, Math.min(MAX_FLEET_TOP, Math.floor(top)));
    // Before the ticker starts: a snapshot older than one interval is not the fleet's state any more.
    if (this.ticker === undefined && this.latest !== undefined && this.deps.clock.now() - this.latest.atMs >= this.opts.intervalMs) this.latest = undefined;
    const w: Watcher = { pending: this.latest, wake: undefined };
    this.set.add(w);
    if (this.ticker === undefined) this.start();
    else if (this.set.size === 1) this.nudge?.abort(); // waiting at the warm pace: wait an interval at most
    // Leave at the abort itself: a generator suspended at `yield` under a stalled write may never resume.
    const onAbort = () => {
      this.leave(w);
      w.wake?.();
    };
    signal.addEventListener("abort", onAbort);
    try {
      for (;;) {
        if (signal.aborted || this.closed) return;
        const s = w.pending;
        if (s !== undefined) {
          w.pending = undefined;
          yield responseOf(s, n, this.opts);
          continue;
        }
        await new Promise<void>((resolve) => (w.wake = resolve));
        w.wake = undefined;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.leave(w);
    }
  }

  /** Ends every watcher and the ticker; resolves when no computation runs. */
  async close(): Promise<void> {
    this.closed = true;
    this.stop();
    for (const w of this.set) w.wake?.();
    await this.loop;
  }

  private leave(w: Watcher): void {
    if (this.set.delete(w) && this.set.size === 0 && !this.warmed) this.stop();
  }

  private start(): void {
    const ctrl = new AbortController();
    this.ticker = ctrl;
    this.loop = this.loop.then(() => this.run(ctrl.signal));
  }

  private stop(): void {
    this.ticker?.abort();
    this.ticker = undefined;
    this.warmed = false;
  }

  /** Compute, publish, wait for the next interval's start; until `signal` aborts. Never rejects. */
  private async run(signal: AbortSignal): Promise<void> {
    const { clock } = this.deps;
    while (!signal.aborted) {
      // Also across a stop and a start: watchers that come and go cost one computation per interval.
      const pace = this.set.size > 0 || !this.warmed ? this.opts.intervalMs : this.opts.keepWarmMs!;
      const wait = this.lastStartMs + pace - clock.now();
      if (wait > 0) {
        const nudge = new AbortController();
        this.nudge = nudge;
        try {
          await sleep(wait, clock, AbortSignal.any([signal, nudge.signal]));
        } catch {
          if (signal.aborted) return;
          continue; // a first watcher: the wait is an interval now
        } finally {
          this.nudge = undefined;
        }
      }
      if (signal.aborted) return;
      const atMs = clock.now();
      this.lastStartMs = atMs;
      this.computations++;
      // A signal per computation: listeners a client leaves on it go with it, not onto the ticker's.
      const one = new AbortController();
      const abort = () => one.abort(signal.reason);
      signal.addEventListener("abort", abort, { once: true });
      try {
        const fleet = await this.deps.fleet(
          { nowMs: atMs, offlineAfterMs: this.opts.offlineAfterMs, rateWindowMs: this.opts.rateWindowMs, anomalyWindowMs: this.opts.anomalyWindowMs, top: MAX_FLEET_TOP },
          one.signal,
        );
        this.publish({ atMs, fleet });
      } catch (err) {
        if (signal.aborted) return;
        this.failures++;
        try {
          this.deps.onError?.(err);
        } catch {
          // A failing error callback must not stop the ticker.
        }
      } finally {
        signal.removeEventListener("abort", abort);
      }
    }
  }

  private publish(s: FleetSnapshot): void {
    this.latest = s;
    for (const w of this.set) {
      if (w.pending !== undefined) this.skipped++;
      w.pending = s;
      w.wake?.();
    }
  }
}

/** A snapshot as the WatchFleet response of a watcher that asked for `top` devices. */
function responseOf(s: FleetSnapshot, top: number, o: FleetHubOptions): Item {
  const f = s.fleet;
  return {
    atMs: BigInt(s.atMs),
    devices: BigInt(f.devices),
    online: BigInt(f.online),
    offline: BigInt(f.offline),
    silent: BigInt(f.silent),
    ingestPerS: f.readingsInRateWindow / (o.rateWindowMs / 1000),
    anomaliesPerMin: f.anomaliesInRateWindow / (o.rateWindowMs / 60_000),
    incidentsPerMin: f.incidentsInRateWindow / (o.rateWindowMs / 60_000),
    top: f.top.slice(0, top).map((d) => ({ deviceId: d.deviceId, anomalies: BigInt(d.anomalies), incidents: BigInt(d.incidents), maxScore: d.maxScore, lastAnomalyMs: BigInt(d.lastAnomalyMs) })),
    rateWindowMs: BigInt(o.rateWindowMs),
    anomalyWindowMs: BigInt(o.anomalyWindowMs),
  };
}
