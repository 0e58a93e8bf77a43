import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { RowFeed, RowInterest } from "../ports/row-feed.js";
import type { Row } from "../ports/row-sink.js";
import { ANALYSES_TABLE, DEVICE_EVENTS_TABLE, READINGS_TABLE } from "../domain/tables.js";
import type { WatchDeviceResponseSchema, WatchedReadingSchema } from "../gen/shoal/v1/query_pb.js";
import type { Clock, TimerHandle } from "../ports/clock.js";
import { systemClock } from "../base/clock.js";
import { analysisOf } from "./convert.js";
import { reasonsFromJson } from "../domain/anomaly-reasons.js";

type Item = MessageInitShape<typeof WatchDeviceResponseSchema>;
type WatchedReadingInit = MessageInitShape<typeof WatchedReadingSchema>;

/** The tables a device's watchers are sent rows of (see itemOf). */
const WATCHED_TABLES: ReadonlySet<string> = new Set([READINGS_TABLE, ANALYSES_TABLE, DEVICE_EVENTS_TABLE]);

export interface WatchHubOptions {
  /** Most watchers at once, over all devices. */
  readonly maxWatchers: number;
  /** Items a watcher may have waiting; one more and it is cut off (RESOURCE_EXHAUSTED). */
  readonly bufferItems: number;
  /** The clock of coalescing waits (default the system's). */
  readonly clock?: Clock;
}

/** The longest a watcher may ask a reading to wait for the next ones (`coalesce_ms`). */
export const MAX_COALESCE_MS = 1000;

interface Watcher {
  readonly queue: Item[];
  /** Items in the queue that are not readings (they end a coalescing wait). */
  others: number;
  wake: (() => void) | undefined;
  failed: ConnectError | undefined;
}

/**
 * Live rows of single devices for WatchDevice: one feed subscription while anyone watches, rows
 * routed by device id to each watcher's bounded queue. A watcher whose client reads slower than
 * its device's rows arrive is cut off, so a slow client costs at most `bufferItems` items.
 */
export class WatchHub {
  private readonly byDevice = new Map<string, Set<Watcher>>();
  private count = 0;
  private stopFeed: (() => void) | undefined;
  /** Watchers cut off for reading too slowly, since start. */
  cutOff = 0;
  /** The feed's rows this hub reads: its tables, of the watched devices only. */
  private readonly interest: RowInterest = { tables: WATCHED_TABLES, devices: (id) => this.byDevice.has(id) };

  constructor(
    private readonly feed: RowFeed,
    private readonly opts: WatchHubOptions,
  ) {}

  get watchers(): number {
    return this.count;
  }

  /**
   * The device's items as they are stored, until `signal` aborts (or the watcher is cut off: throws).
   * With `coalesceMs` > 0, readings go out together (`readings`): the first one waits up to
   * `coalesceMs` for the next; an analysis or event behind them, or half of `bufferItems` waiting,
   * ends the wait at once (held readings are not a slow client's).
   */
  async *watch(deviceId: string, signal: AbortSignal, coalesceMs = 0): AsyncGenerator<Item> {
    if (this.count >= this.opts.maxWatchers) throw new ConnectError(`more than ${this.opts.maxWatchers} watchers`, Code.ResourceExhausted);
    const w: Watcher = { queue: [], others: 0, wake: undefined, failed: undefined };
    const clock = this.opts.clock ?? systemClock;
    this.add(deviceId, w);
    const onAbort = () => w.wake?.();
    signal.addEventListener("abort", onAbort);
    try {
      for (;;) {
        if (w.failed) throw w.failed;
        if (signal.aborted) return;
        const next = w.queue[0];
        if (next === undefined) {
          await this.pause(w, clock, -1);
          continue;
        }
        if (coalesceMs <= 0 || next.item?.case !== "reading") {
          w.queue.shift();
          if (next.item?.case !== "reading") w.others--;
          yield next;
          continue;
        }
        const until = clock.now() + coalesceMs;
        // Held readings count against the watcher's buffer: half of it full ends the wait too.
        const half = this.opts.bufferItems / 2;
        for (let left = coalesceMs; left > 0 && w.others === 0 && w.queue.length < half && !w.failed && !signal.aborted; left = until - clock.now()) await this.pause(w, clock, left);
        if (w.failed) throw w.failed;
        if (signal.aborted) return;
        const readings: WatchedReadingInit[] = [];
        while (w.queue[0]?.item?.case === "reading") readings.push(w.queue.shift()!.item!.value as WatchedReadingInit);
        yield { item: { case: "readings", value: { readings } } };
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.remove(deviceId, w);
    }
  }

  /** Until the watcher is woken (an item, a cut-off, the end), or `ms` pass (`ms` < 0: no limit). */
  private async pause(w: Watcher, clock: Clock, ms: number): Promise<void> {
    let timer: TimerHandle | undefined;
    await new Promise<void>((resolve) => {
      w.wake = resolve;
      if (ms >= 0) timer = clock.setTimeout(resolve, ms);
    });
    if (timer !== undefined) clock.clearTimeout(timer);
    w.wake = undefined;
  }

  private add(deviceId: string, w: Watcher): void {
    let set = this.byDevice.get(deviceId);
    if (set === undefined) this.byDevice.set(deviceId, (set = new Set()));
    set.add(w);
    this.count++;
    this.stopFeed ??= this.feed.subscribe((table, rows) => this.route(table, rows), this.interest);
  }

  private remove(deviceId: string, w: Watcher): void {
    const set = this.byDevice.get(deviceId);
    if (set?.delete(w) !== true) return;
    this.count--;
    if (set.size === 0) this.byDevice.delete(deviceId);
    if (this.count === 0) {
      this.stopFeed?.();
      this.stopFeed = undefined;
    }
  }

  private route(table: string, rows: readonly Row[]): void {
    for (const row of rows) {
      const set = this.byDevice.get(String(row["device_id"]));
      if (set === undefined) continue;
      const item = itemOf(table, row);
      if (item === undefined) continue;
      for (const w of set) {
        if (w.failed) continue;
        if (w.queue.length >= this.opts.bufferItems) {
          w.failed = new ConnectError(`cut off: the client read slower than the device's data (${this.opts.bufferItems} items waiting)`, Code.ResourceExhausted);
          w.queue.length = 0;
          w.others = 0;
          this.cutOff++;
        } else {
          w.queue.push(item);
          if (item.item?.case !== "reading") w.others++;
        }
        w.wake?.();
      }
    }
  }
}

function itemOf(table: string, r: Row): Item | undefined {
  if (table === READINGS_TABLE) {
    const names = (r["metric_names"] ?? []) as readonly string[];
    const values = (r["metric_values"] ?? []) as readonly number[];
    const scores = (r["metric_scores"] ?? []) as readonly number[];
    return {
      item: {
        case: "reading",
        value: {
          tsMs: BigInt(Number(r["ts_ms"])),
          epoch: BigInt(Number(r["epoch"] ?? 0)),
          seq: BigInt(Number(r["seq"])),
          values: Object.fromEntries(names.map((n, i) => [n, values[i] ?? 0])),
          scores: Object.fromEntries(names.map((n, i) => [n, scores[i] ?? 0])),
          score: Number(r["score"] ?? 0),
        },
      },
    };
  }
  if (table === ANALYSES_TABLE) return { item: { case: "analysis", value: analysisOf(fromAnalysisRow(r)) } };
  if (table === DEVICE_EVENTS_TABLE) {
    return {
      item: { case: "event", value: { kind: String(r["kind"]), atMs: BigInt(Number(r["at_ms"])), epoch: BigInt(Number(r["epoch"] ?? 0)), lastSeq: BigInt(Number(r["last_seq"] ?? 0)), detail: String(r["detail"] ?? "") } },
    };
  }
  return undefined;
}

function fromAnalysisRow(r: Row) {
  return {
    deviceId: String(r["device_id"]),
    epoch: Number(r["epoch"] ?? 0),
    seq: Number(r["seq"]),
    tsMs: Number(r["ts_ms"]),
    metric: String(r["metric"]),
    score: Number(r["score"]),
    summary: String(r["summary"] ?? ""),
    likelyCause: String(r["likely_cause"] ?? ""),
    suggestedAction: String(r["suggested_action"] ?? ""),
    provider: String(r["provider"] ?? ""),
    model: String(r["model"] ?? ""),
    cached: Number(r["cached"] ?? 0) === 1,
    degraded: Number(r["degraded"] ?? 0) === 1,
    reasons: reasonsFromJson(String(r["reasons"] ?? "")),
    // A row logged before migrations 19 and 20 has none: its own, as the read model reads it.
    incidentEpoch: Number(r["incident_epoch"] ?? r["epoch"] ?? 0),
    incidentSeq: Number(r["incident_seq"] ?? r["seq"]),
    incidentTsMs: Number(r["incident_ts_ms"] ?? r["ts_ms"]),
  };
}
