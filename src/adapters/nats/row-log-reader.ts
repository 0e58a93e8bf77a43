import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import type { DurableRowFeed, LoggedTableRows } from "../../ports/row-feed.js";
import { backoffMs } from "../../base/backoff.js";
import { sleep } from "../../base/clock.js";
import { isRetryable } from "../../base/errors.js";
import { ROW_LOG_SUBJECTS, ROWS_STREAM } from "./row-log.js";
import { decodeRowLogMessage } from "./row-log-decode.js";
import type { RowSelection } from "../../domain/row-binary-read.js";
import { isNotFound } from "./streams.js";

export interface RowLogReaderOptions {
  /** Durable consumer name: readers with one name share the work; the position survives restarts. */
  readonly name: string;
  /** Entries fetched at a time. */
  readonly batch?: number;
  /** Only entries of these tables are decoded and handed over; the rest are acknowledged unread. Default: all. */
  readonly tables?: ReadonlySet<string>;
  /**
   * Per table, the rows wanted: the others are left out of the entry and, in RowBinary, stepped
   * over without being decoded (an entry may come with no rows). Default: every row.
   */
  readonly rows?: ReadonlyMap<string, RowSelection>;
}

/**
 * DurableRowFeed on a durable pull consumer of SHOAL_ROWS (explicit acks; a new reader starts at
 * the oldest entry the log still holds). An entry that does not decode is poison. A handler
 * failing retryably is redelivered with a growing delay (nak with delay), so a down vector store
 * holds entries in the log, not in memory.
 */
export function createRowLogReader(nc: NatsConnection, o: RowLogReaderOptions): DurableRowFeed {
  const js = jetstream(nc);
  const ensure = async () => {
    const jsm = await jetstreamManager(nc);
    try {
      return await jsm.consumers.info(ROWS_STREAM, o.name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      return jsm.consumers.add(ROWS_STREAM, {
        durable_name: o.name,
        filter_subject: ROW_LOG_SUBJECTS,
        deliver_policy: DeliverPolicy.All,
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(60_000),
        max_deliver: -1,
        max_ack_pending: 1000,
      });
    }
  };
  return {
    start(handle, poison) {
      let stopped = false;
      const loop = (async () => {
        for (let attempt = 0; !stopped; ) {
          try {
            await ensure();
            const consumer = await js.consumers.get(ROWS_STREAM, o.name);
            while (!stopped) {
              const it = await consumer.fetch({ max_messages: o.batch ?? 64, expires: 2_000 });
              for await (const m of it) {
                await one(m, handle, poison, o);
                if (stopped) break;
              }
              attempt = 0;
            }
          } catch {
            // The log unavailable (a NATS node down, the stream re-created): try again.
            await sleep(backoffMs(attempt++, 200, 5_000));
          }
        }
      })();
      return {
        async stop() {
          stopped = true;
          await loop;
        },
      };
    },
    async backlog() {
      const info = await ensure();
      const jsm = await jetstreamManager(nc);
      const stream = await jsm.streams.info(ROWS_STREAM);
      const floor = info.ack_floor.stream_seq;
      return { pending: info.num_pending + info.num_ack_pending, lostBefore: stream.state.first_seq > floor + 1 && floor > 0 ? stream.state.first_seq : 0 };
    },
  };
}

async function one(m: JsMsg, handle: (e: LoggedTableRows) => Promise<void>, poison: (e: LoggedTableRows, err: unknown) => Promise<void>, o: RowLogReaderOptions): Promise<void> {
  const table = m.headers?.get("Shoal-Table") ?? "";
  if (o.tables !== undefined && !o.tables.has(table)) {
    m.ack();
    return;
  }
  const atMs = Math.floor(Number(m.info.timestampNanos) / 1e6);
  let entry: LoggedTableRows;
  try {
    const got = decodeRowLogMessage(m.headers, m.data, undefined, o.rows?.get(table));
    if (got === undefined) {
      m.ack();
      return;
    }
    entry = { ...got, atMs };
  } catch (e) {
    await poison({ table, rows: [], atMs }, e);
    m.ack();
    return;
  }
  try {
    await handle(entry);
    m.ack();
  } catch (e) {
    if (isRetryable(e)) {
      m.nak(backoffMs(m.info.deliveryCount - 1, 1_000, 60_000));
      return;
    }
    await poison(entry, e);
    m.ack();
  }
}
