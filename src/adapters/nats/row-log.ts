import { AckPolicy, DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import { randomBytes } from "node:crypto";
import type { LoggedRows, RowLog, RowLogEntry } from "../../ports/row-log.js";
import { ShoalError } from "../../base/errors.js";
import { concatBytes } from "../../domain/row-binary-read.js";
import { ensureStream } from "./streams.js";
import { JournalPublisher } from "./journal-publisher.js";

/** Appends awaiting their PubAck at most (the sink's row bound holds them back long before). */
const APPENDS_IN_FLIGHT = 256;
/** An append without a PubAck after this long is sent again (same message id), ms. */
const APPEND_ACK_TIMEOUT_MS = 2000;

/** The stream holding the row log. */
export const ROWS_STREAM = "SHOAL_ROWS";
const SUBJECT_PREFIX = "shoal.rows";
/** Every writer's row log subjects. */
export const ROW_LOG_SUBJECTS = `${SUBJECT_PREFIX}.>`;

/** Options of {@link createJetStreamRowLog}. */
export interface JetStreamRowLogOptions {
  /** This writer (node id): entries go to `shoal.rows.<writer>`. */
  readonly writer: string;
  /** How long entries are kept, ms. */
  readonly keepMs: number;
  /** Replicas of the stream (1, 3 or 5). */
  readonly replicas: number;
}

/**
 * RowLog on the SHOAL_ROWS JetStream stream: one message per entry with the table, format, columns
 * and row count in headers and the encoded rows as the body; `Nats-Msg-Id` makes a retried append
 * land once. Reads use an ephemeral consumer from a start time that fetches exactly what is pending.
 */
export async function createJetStreamRowLog(nc: NatsConnection, o: JetStreamRowLogOptions): Promise<RowLog & { close(): void; ensureStream(): Promise<void> }> {
  const ensure = async () => ensureStream(await jetstreamManager(nc), rowsStreamConfig(o));
  await ensure();
  const subject = `${SUBJECT_PREFIX}.${token(o.writer)}`;
  const run = randomBytes(6).toString("hex");
  let next = 0;
  // What one message may carry: the server's max_payload less room for headers.
  const maxEntryBytes = Math.max(64 * 1024, (nc.info?.max_payload ?? 1024 * 1024) - 16 * 1024);
  // Pipelined, re-sent with the same message id until stored: an append that met a leader election
  // goes again within half a second of the 503 or 2 s after its send, not after a growing backoff.
  const publisher = JournalPublisher.create(nc, APPENDS_IN_FLIGHT, { ackTimeoutMs: APPEND_ACK_TIMEOUT_MS });

  const appendOne = async (e: RowLogEntry, msgId: string): Promise<void> => {
    const body = e.chunks.length === 1 ? e.chunks[0]! : concatBytes(e.chunks);
    if (body.length > maxEntryBytes) throw new ShoalError(`row log entry of ${body.length} bytes is larger than NATS takes`, { code: "invalid_input", retryable: false });
    const headers = { "Shoal-Table": e.table, "Shoal-Format": e.format, "Shoal-Columns": e.columns.join(","), "Shoal-Rows": String(e.rows) };
    await publisher.publish(subject, body, msgId, { headers });
  };

  return {
    ensureStream: ensure,
    maxEntryBytes,
    async append(entries) {
      await Promise.all(entries.map((e) => appendOne(e, `${run}.${++next}`)));
    },
    read: (fromMs, untilMs, opts) => readEntries(nc, opts?.all === true ? ROW_LOG_SUBJECTS : subject, fromMs, untilMs),
    close() {
      publisher.close();
    },
  };
}

/** The row log stream's settings (created when missing, updated only when they differ). */
function rowsStreamConfig(o: JetStreamRowLogOptions) {
  return {
    name: ROWS_STREAM,
    subjects: [ROW_LOG_SUBJECTS],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(o.keepMs),
    duplicate_window: nanos(Math.min(120_000, o.keepMs)),
    num_replicas: o.replicas,
  };
}

/** Entries of `filter` logged in [fromMs, untilMs], in stream order. */
async function* readEntries(nc: NatsConnection, filter: string, fromMs: number, untilMs: number): AsyncGenerator<LoggedRows> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const info = await jsm.consumers.add(ROWS_STREAM, {
    filter_subject: filter,
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: new Date(fromMs).toISOString(),
    ack_policy: AckPolicy.None,
    mem_storage: true,
    inactive_threshold: nanos(60_000),
  });
  try {
    const consumer = await js.consumers.get(ROWS_STREAM, info.name);
    let remaining = info.num_pending;
    while (remaining > 0) {
      const it = await consumer.fetch({ max_messages: Math.min(256, remaining), expires: 10_000 });
      let got = 0;
      for await (const m of it) {
        got++;
        remaining--;
        const atMs = Math.floor(Number(m.info.timestampNanos) / 1e6);
        if (atMs > untilMs) return;
        const h = m.headers;
        const format = h?.get("Shoal-Format");
        yield {
          table: h?.get("Shoal-Table") ?? "",
          format: format === "JSONEachRow" ? "JSONEachRow" : "RowBinary",
          columns: (h?.get("Shoal-Columns") ?? "").split(",").filter((c) => c !== ""),
          rows: Number(h?.get("Shoal-Rows") ?? 0),
          chunks: [m.data],
          atMs,
        };
      }
      if (got === 0) return; // purged meanwhile
    }
  } finally {
    await jsm.consumers.delete(ROWS_STREAM, info.name).catch(() => {});
  }
}

/** A subject token from a node id (dots and wildcards would split or widen the subject). */
function token(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, "_");
}
