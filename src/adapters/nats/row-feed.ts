import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { RowFeed, RowInterest } from "../../ports/row-feed.js";
import type { Row } from "../../ports/row-sink.js";
import { ROW_LOG_SUBJECTS } from "./row-log.js";
import { decodeRowLogMessage } from "./row-log-decode.js";

/**
 * A RowFeed on the row log's subjects (core NATS: sees every append as the JetStream stream stores
 * it, costs nothing while nobody listens). One subscription while any listener is there. Entries
 * are decoded once for all listeners, and only as far as some listener is interested (see
 * RowInterest: a watcher of 100 devices does not decode the fleet's rows). Entries that do not
 * decode are counted and left out.
 */
export function createNatsRowFeed(nc: NatsConnection, onError: (reason: string) => void = () => {}): RowFeed & { readonly undecodable: number } {
  const listeners = new Map<(table: string, rows: readonly Row[]) => void, RowInterest | undefined>();
  let sub: Subscription | undefined;
  // The union of the listeners' interests; undefined while any listener wants everything.
  let union: RowInterest | undefined;
  const interests: RowInterest[] = [];
  const recompute = () => {
    interests.length = 0;
    for (const i of listeners.values()) {
      if (i === undefined) {
        union = undefined;
        return;
      }
      interests.push(i);
    }
    const tables = new Set<string>();
    for (const i of interests) for (const t of i.tables) tables.add(t);
    const only = interests.length === 1 ? interests[0]! : undefined;
    union = { tables, devices: only !== undefined ? only.devices : (id) => interests.some((i) => i.devices(id)) };
  };
  const self = {
    undecodable: 0,
    subscribe(listener: (table: string, rows: readonly Row[]) => void, only?: RowInterest) {
      listeners.set(listener, only);
      recompute();
      sub ??= nc.subscribe(ROW_LOG_SUBJECTS, {
        callback: (err, m) => {
          if (err) return;
          try {
            const got = decodeRowLogMessage(m.headers, m.data, union);
            if (got !== undefined && got.rows.length > 0) for (const l of listeners.keys()) l(got.table, got.rows);
          } catch (e) {
            self.undecodable++;
            onError(`row log entry not decoded: ${(e as Error).message}`);
          }
        },
      });
      return () => {
        listeners.delete(listener);
        recompute();
        if (listeners.size === 0 && sub !== undefined) {
          sub.unsubscribe();
          sub = undefined;
        }
      };
    },
  };
  return self;
}
