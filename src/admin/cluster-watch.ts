import { create } from "@bufbuild/protobuf";
import { errorMessage } from "../base/errors.js";
import type { Clock, TimerHandle } from "../ports/clock.js";
import {
  WatchClusterResponseSchema,
  type GetCountersResponse,
  type GetInfoResponse,
  type GetPartitionMapResponse,
  type GetRuntimeStatsResponse,
  type ListMembersResponse,
  type WatchClusterResponse,
} from "../gen/shoal/v1/admin_pb.js";

/** Default interval between WatchCluster snapshots, ms (a request's 0). */
export const DEFAULT_WATCH_INTERVAL_MS = 1000;
/** Shortest interval between WatchCluster snapshots, ms. */
export const MIN_WATCH_INTERVAL_MS = 250;
/** Longest interval, ms (an hour: beyond, a timer would overflow long before it mattered). */
export const MAX_WATCH_INTERVAL_MS = 3_600_000;

/** The interval a WatchCluster request asks for: 0 → 1000 ms, at least 250 ms, at most an hour. */
export function watchIntervalMs(requested: number): number {
  if (requested === 0) return DEFAULT_WATCH_INTERVAL_MS;
  return Math.min(MAX_WATCH_INTERVAL_MS, Math.max(MIN_WATCH_INTERVAL_MS, requested));
}

/** Where each part of a cluster snapshot comes from (this process, or a remote admin server). A part may throw: it is then left out with the reason. */
export interface ClusterParts {
  info(): Promise<GetInfoResponse>;
  counters(): Promise<GetCountersResponse>;
  members(): Promise<ListMembersResponse>;
  partitions(): Promise<GetPartitionMapResponse>;
  runtime(): Promise<GetRuntimeStatsResponse>;
}

/**
 * One WatchClusterResponse: every part asked at once; a part that fails is left unset and its
 * error message is under its name in `unavailable` ("info", "counters", "members", "partitions",
 * "runtime"). Never throws.
 */
export async function clusterSnapshot(parts: ClusterParts, nowMs: number): Promise<WatchClusterResponse> {
  const names = ["info", "counters", "members", "partitions", "runtime"] as const;
  const settled = await Promise.allSettled(names.map((n) => parts[n]()));
  const out = create(WatchClusterResponseSchema, { atMs: BigInt(nowMs) });
  const unavailable: Record<string, string> = {};
  settled.forEach((r, i) => {
    const name = names[i]!;
    if (r.status === "rejected") unavailable[name] = errorMessage(r.reason);
    else (out as unknown as Record<string, unknown>)[name] = r.value;
  });
  out.unavailable = unavailable;
  return out;
}

/** One watcher's mailbox: only the newest snapshot is kept (a slow watcher skips the ones it missed). */
interface Slot {
  next: WatchClusterResponse | undefined;
  wake: (() => void) | undefined;
}

/** The watchers of one interval (and key), sharing one computation per tick. */
interface Group {
  readonly intervalMs: number;
  readonly compute: () => Promise<WatchClusterResponse>;
  readonly slots: Set<Slot>;
  latest: WatchClusterResponse | undefined;
  timer: TimerHandle | undefined;
  stopped: boolean;
}

/** What {@link ClusterWatchHub.watch} needs. */
export interface ClusterWatchRequest {
  /** Interval between snapshots, ms (already normalised by {@link watchIntervalMs}). */
  readonly intervalMs: number;
  /**
   * Watchers with the same interval and key share one computation ("" for this process; the
   * forwarded authorization for a remote admin server, so a watcher never reads with another's token).
   */
  readonly key: string;
  /** Computes a snapshot (used by the first watcher of a group; should not throw — a throw skips the tick). */
  readonly compute: () => Promise<WatchClusterResponse>;
  /** Ends the watch. */
  readonly signal: AbortSignal;
}

/**
 * WatchCluster for any number of watchers at the cost of one: watchers of the same interval (and
 * key) share one computation per interval, which runs only while someone watches (the next tick
 * is `intervalMs` after the previous one started, never two at once). A new watcher gets the
 * group's newest snapshot at once (or the first one when it is ready); a slow watcher keeps only
 * the newest one.
 */
export class ClusterWatchHub {
  private readonly groups = new Map<string, Group>();

  constructor(private readonly clock: Clock) {}

  /** Groups ticking now (for tests and metrics). */
  get active(): number {
    return this.groups.size;
  }

  /** Snapshots until `signal` aborts (then the iterable ends). */
  async *watch(r: ClusterWatchRequest): AsyncGenerator<WatchClusterResponse> {
    if (r.signal.aborted) return;
    const id = `${r.intervalMs}|${r.key}`;
    let group = this.groups.get(id);
    const slot: Slot = { next: group?.latest, wake: undefined };
    if (group === undefined) {
      group = { intervalMs: r.intervalMs, compute: r.compute, slots: new Set(), latest: undefined, timer: undefined, stopped: false };
      this.groups.set(id, group);
      group.slots.add(slot);
      this.tick(group);
    } else group.slots.add(slot);
    try {
      for (;;) {
        if (slot.next === undefined) await waitFor(slot, r.signal);
        if (r.signal.aborted) return;
        const snap = slot.next;
        slot.next = undefined;
        if (snap !== undefined) yield snap;
      }
    } finally {
      group.slots.delete(slot);
      if (group.slots.size === 0) {
        group.stopped = true;
        if (group.timer !== undefined) this.clock.clearTimeout(group.timer);
        if (this.groups.get(id) === group) this.groups.delete(id);
      }
    }
  }

  private tick(group: Group): void {
    group.timer = undefined;
    const started = this.clock.now();
    const done = () => {
      if (group.stopped) return;
      group.timer = this.clock.setTimeout(() => this.tick(group), Math.max(0, group.intervalMs - (this.clock.now() - started)));
    };
    group.compute().then(
      (snap) => {
        if (group.stopped) return;
        group.latest = snap;
        for (const s of group.slots) {
          s.next = snap;
          s.wake?.();
        }
        done();
      },
      () => done(),
    );
  }
}

/** Resolves when the slot gets a snapshot or `signal` aborts. */
function waitFor(slot: Slot, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const finish = () => {
      slot.wake = undefined;
      signal.removeEventListener("abort", finish);
      resolve();
    };
    slot.wake = finish;
    signal.addEventListener("abort", finish, { once: true });
  });
}
