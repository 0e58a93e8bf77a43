/**
 * The state of the page's live streams, summed up for the header's status line (an aria-live
 * region: it must change only when something an operator should know changes).
 */
export type StreamStatus =
  | { readonly state: "connecting" }
  | { readonly state: "live"; readonly sinceMs: number }
  | { readonly state: "retrying"; readonly error: string; readonly retryAtMs: number };

export type ConnectionLevel = "idle" | "connecting" | "live" | "retrying" | "offline";

export interface ConnectionSummary {
  readonly level: ConnectionLevel;
  /** One short sentence, e.g. "Live", "Reconnecting: the server cannot be reached". */
  readonly text: string;
}

/** The summary of the streams open now; `online` is navigator.onLine. Retry times are left out (the text stays stable). */
export function summarize(streams: Iterable<StreamStatus>, online: boolean): ConnectionSummary {
  if (!online) return { level: "offline", text: "Offline: no network" };
  let count = 0;
  let connecting = 0;
  let failing: string | undefined;
  for (const s of streams) {
    count++;
    if (s.state === "connecting") connecting++;
    else if (s.state === "retrying") failing ??= s.error;
  }
  if (failing !== undefined) return { level: "retrying", text: `Reconnecting: ${failing}` };
  if (connecting > 0) return { level: "connecting", text: "Connecting…" };
  if (count === 0) return { level: "idle", text: "Connected" };
  return { level: "live", text: "Live" };
}

/** Statuses by stream name, observable (the header subscribes; pages' streams report). */
export interface ConnectionStore {
  set(name: string, status: StreamStatus | undefined): void;
  statuses(): StreamStatus[];
  subscribe(listener: () => void): () => void;
}

export function createConnectionStore(): ConnectionStore {
  const byName = new Map<string, StreamStatus>();
  const listeners = new Set<() => void>();
  return {
    set(name, status) {
      if (status === undefined) byName.delete(name);
      else byName.set(name, status);
      for (const l of listeners) l();
    },
    statuses: () => [...byName.values()],
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** Delay before reconnect attempt `attempt` (0-based): 1 s doubling to 30 s, ±20 % jitter from `random` (0..1). */
export function reconnectDelayMs(attempt: number, random: number): number {
  const base = Math.min(30_000, 1000 * 2 ** Math.min(attempt, 10));
  return Math.round(base * (0.8 + 0.4 * random));
}
