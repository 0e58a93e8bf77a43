import type { AlertTransition } from "../domain/alerts.js";
import type { EventPublisher } from "../ports/journal.js";
import type { Log } from "../ports/log.js";
import type { DurableRowFeed, LoggedTableRows } from "../ports/row-feed.js";
import type { AlertPublisher } from "./ports.js";
import { ALERT_TRANSITIONS_TABLE } from "../domain/tables.js";
import { describeError } from "../base/errors.js";
import { transitionFromRow } from "./transition-row.js";

/** The tables the relay's row log reader hands over (its `tables` filter). */
export const ALERT_RELAY_TABLES: ReadonlySet<string> = new Set([ALERT_TRANSITIONS_TABLE]);

/** Dead-letter stage of rows the relay cannot read. */
export const RELAY_STAGE = "alert-relay";

/** What the relay is wired to. */
export interface AlertRelayDeps {
  /** A durable row log reader over ALERT_RELAY_TABLES (createRowLogReader, name "shoal-alert-relay"). */
  readonly feed: DurableRowFeed;
  readonly publisher: AlertPublisher;
  /** Dead letters of rows that are no transition. */
  readonly events: Pick<EventPublisher, "deadLetter">;
  readonly log: Log;
}

/** Counters of a running relay. */
export interface AlertRelayStats {
  /** Row log entries of alert_transitions handled. */
  entries: number;
  /** Transitions published (a retried entry's count again). */
  published: number;
  /** Rows dead-lettered (not a transition). */
  invalid: number;
}

/** A running relay. */
export interface AlertRelay {
  stats(): AlertRelayStats;
  stop(): Promise<void>;
}

/**
 * Row log -> alerts stream (docs/adr/0016-alerts.md, decision 4): each `alert_transitions` row
 * becomes an AlertTransition published on `shoal.alerts.<deviceId>` with message id
 * `${alertId}:${version}`; the row log entry is acknowledged only once every publish of it is
 * (a failed publish makes the reader hand the entry over again: the stream drops the duplicates).
 * A row that is no transition is dead-lettered (stage "alert-relay"), the rest still published.
 */
export function startAlertRelay(deps: AlertRelayDeps): AlertRelay {
  const stats: AlertRelayStats = { entries: 0, published: 0, invalid: 0 };
  const enc = new TextEncoder();
  const handle = async (entry: LoggedTableRows): Promise<void> => {
    if (entry.table !== ALERT_TRANSITIONS_TABLE) return;
    const ts: AlertTransition[] = [];
    const bad: { row: unknown; err: unknown }[] = [];
    for (const row of entry.rows) {
      try {
        ts.push(transitionFromRow(row));
      } catch (err) {
        bad.push({ row, err });
      }
    }
    if (ts.length > 0) await deps.publisher.publish(ts);
    for (const b of bad) {
      await deps.events.deadLetter({ stage: RELAY_STAGE, code: "invalid_row", reason: describeError(b.err), source: `row log ${entry.table}`, payload: enc.encode(JSON.stringify(b.row)) });
    }
    stats.entries++;
    stats.published += ts.length;
    stats.invalid += bad.length;
  };
  const poison = async (entry: LoggedTableRows, err: unknown): Promise<void> => {
    deps.log.warn({ table: entry.table, err: describeError(err) }, "alert relay: row log entry does not decode; dead-lettered");
    await deps.events.deadLetter({ stage: RELAY_STAGE, code: "undecodable", reason: describeError(err), source: `row log ${entry.table}`, payload: enc.encode(JSON.stringify(entry.rows)) });
  };
  const reader = deps.feed.start(handle, poison);
  return {
    stats: () => ({ ...stats }),
    stop: () => reader.stop(),
  };
}
