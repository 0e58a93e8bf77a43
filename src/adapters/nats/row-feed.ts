import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { RowFeed } from "../../ports/row-feed.js";
import type { Row } from "../../ports/row-sink.js";
import { ROW_LOG_SUBJECTS } from "./row-log.js";
import { decodeRowLogMessage } from "./row-log-decode.js";

/**
 * A RowFeed on the row log's subjects (core NATS: sees every append as the JetStream stream stores
 * it, costs nothing while nobody listens). One subscription while any listener is there. Entries
 * that do not decode are counted and left out.
 */
export function createNatsRowFeed(nc: NatsConnection, onError: (reason: string) => void = () => {}): RowFeed & { readonly undecodable: number } {
  const listeners = new Set<(table: string, rows: readonly Row[]) => void>();
  let sub: Subscription | undefined;
  const self = {
    undecodable: 0,
    subscribe(listener: (table: string, rows: readonly Row[]) => void) {
      listeners.add(listener);
      sub ??= nc.subscribe(ROW_LOG_SUBJECTS, {
        callback: (err, m) => {
          if (err) return;
          try {
            const got = decodeRowLogMessage(m.headers, m.data);
            if (got !== undefined) for (const l of listeners) l(got.table, got.rows);
          } catch (e) {
            self.undecodable++;
            onError(`row log entry not decoded: ${(e as Error).message}`);
          }
        },
      });
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && sub !== undefined) {
          sub.unsubscribe();
          sub = undefined;
        }
      };
    },
  };
  return self;
}
