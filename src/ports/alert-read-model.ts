/**
 * What the AlertService reads: the alerts' current state and history as stored (ClickHouse in
 * production: src/adapters/clickhouse/alert-read-model.ts), and their transitions live (NATS:
 * src/adapters/nats/alert-feed.ts). Plain data; times in ms since the epoch. Kinds, states and
 * severities are strings as stored or published (src/domain/alerts.ts names the known ones), so a
 * value this build does not know is passed on, not dropped.
 */

/** An alert's current state: its highest version (`alerts` table). */
export interface AlertRow {
  readonly alertId: string;
  readonly deviceId: string;
  readonly rule: string;
  readonly metric: string;
  readonly severity: string;
  /** firing | acknowledged | resolved */
  readonly state: string;
  readonly startedAtMs: number;
  readonly updatedAtMs: number;
  /** 0 unless resolved. */
  readonly resolvedAtMs: number;
  readonly summary: string;
  /** The latest transition's reason. */
  readonly detail: string;
  readonly version: number;
  /** The latest transition's flapping flag (from the history; false when it has none). */
  readonly flapping: boolean;
}

/**
 * One transition of one alert, as stored in `alert_transitions` and published on
 * `shoal.alerts.<deviceId>`: the shape of src/domain/alerts.ts `AlertTransition` (which is
 * assignable to it) with the enumerations as plain strings.
 */
export interface AlertTransitionRecord {
  readonly alertId: string;
  readonly version: number;
  readonly deviceId: string;
  readonly rule: string;
  readonly metric: string;
  readonly kind: string;
  readonly state: string;
  readonly severity: string;
  readonly atMs: number;
  readonly startedAtMs: number;
  readonly value: number;
  readonly summary: string;
  readonly by: string;
  readonly reason: string;
  readonly flapping: boolean;
}

/** Filters of a page of alerts, newest first: (startedAtMs desc, alertId asc). */
export interface AlertListQuery {
  /** "" = every device. */
  readonly deviceId: string;
  /** "" = every rule. */
  readonly rule: string;
  /** Current state one of these (empty: any). */
  readonly states: readonly string[];
  /** Current severity one of these (empty: any). */
  readonly severities: readonly string[];
  /** Started in [sinceMs, untilMs); undefined: unbounded on that side. */
  readonly sinceMs?: number | undefined;
  readonly untilMs?: number | undefined;
  /** Keyset paging: only alerts after this one in the order (the previous page's last). */
  readonly after?: { readonly startedAtMs: number; readonly alertId: string } | undefined;
  readonly limit: number;
}

export interface AlertReadModel {
  listAlerts(q: AlertListQuery, signal?: AbortSignal): Promise<AlertRow[]>;
  /** The alert's current state; undefined when nothing is stored for it. */
  getAlert(alertId: string, signal?: AbortSignal): Promise<AlertRow | undefined>;
  /** Every stored transition of the alert, version order (each version once). */
  history(alertId: string, signal?: AbortSignal): Promise<AlertTransitionRecord[]>;
}

/**
 * Alert transitions live, as they are published: at most once, nothing durable (a listener that is
 * not subscribed misses them). For watchers.
 */
export interface AlertFeed {
  /** Calls `listener` with each transition of `deviceId` (undefined: every device) from now on, until the returned stop is called. */
  subscribe(deviceId: string | undefined, listener: (t: AlertTransitionRecord) => void): () => void;
}
