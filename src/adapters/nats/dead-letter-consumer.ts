import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import type { Log } from "../../ports/log.js";
import type { Row, RowSink } from "../../ports/row-sink.js";
import { DEAD_LETTERS_TABLE } from "../../domain/tables.js";
import { rowBatchOf } from "../../domain/row-batch.js";
import { sleep } from "../../base/clock.js";
import { errorMessage } from "../../base/errors.js";
import { DLQ_STREAM, isNotFound } from "./streams.js";

/** Durable consumer of the SHOAL_DLQ stream that copies dead letters into ClickHouse. */
export const DEAD_LETTERS_CONSUMER = "shoal-dead-letters";
/** Dead letters per insert at most. */
const BATCH = 500;
/** How long one pull waits for dead letters, ms (also the longest close() waits). */
const PULL_EXPIRES_MS = 2000;

/** A running copy of the DLQ stream into the `dead_letters` table. */
export interface DeadLetterConsumer {
  /** Dead letters inserted since start (a redelivered one counts again). */
  stored(): number;
  close(): Promise<void>;
}

/**
 * Makes the `dead_letters` table the one queryable record of dead letters (docs/adr/0013): every
 * message of the SHOAL_DLQ stream (the bridge's, the runtime's) is inserted through `sink` and acked
 * after the insert. A redelivery inserts an identical row, which the table replaces (ReplacingMergeTree
 * keyed on the dead letter's identity), so every runtime may run one (they share the durable consumer).
 */
export async function startDeadLetterConsumer(nc: NatsConnection, sink: RowSink, log: Log): Promise<DeadLetterConsumer> {
  const jsm = await jetstreamManager(nc);
  const ensure = async () => {
    try {
      await jsm.consumers.info(DLQ_STREAM, DEAD_LETTERS_CONSUMER);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await jsm.consumers.add(DLQ_STREAM, { durable_name: DEAD_LETTERS_CONSUMER, filter_subject: "shoal.dlq.>", ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait: nanos(60_000), max_deliver: -1 });
    }
  };
  await ensure();
  const js = jetstream(nc);
  let closed = false;
  let stored = 0;
  let pulling: ConsumerMessages | undefined;
  const loop = (async () => {
    while (!closed) {
      try {
        pulling = await (await js.consumers.get(DLQ_STREAM, DEAD_LETTERS_CONSUMER)).fetch({ max_messages: BATCH, expires: PULL_EXPIRES_MS });
        const batch: JsMsg[] = [];
        for await (const m of pulling) batch.push(m);
        pulling = undefined;
        // Closing: what was pulled is left unacked (delivered again later, to any runtime).
        if (batch.length === 0 || closed) continue;
        try {
          await sink.write(new Map([[DEAD_LETTERS_TABLE, rowBatchOf(batch.map((m) => deadLetterRow(m.data, m.info.timestampNanos / 1e6, m.subject)))]]), { lazy: true });
        } catch (e) {
          for (const m of batch) m.nak(5000);
          throw e;
        }
        for (const m of batch) m.ack();
        stored += batch.length;
      } catch (e) {
        if (closed) break;
        log.warn({ err: errorMessage(e) }, "dead letters not copied to ClickHouse; trying again");
        await sleep(2000);
        await ensure().catch(() => undefined);
      }
    }
  })();
  return {
    stored: () => stored,
    async close() {
      closed = true;
      await pulling?.close().catch(() => undefined);
      await loop;
    },
  };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The `dead_letters` row of a DLQ message (src/domain/dead-letter.ts writes them): the payload as
 * text when it is UTF-8, else `base64:<payload>`; a message that is not a dead letter is kept whole
 * as one of code `unreadable`.
 */
export function deadLetterRow(data: Uint8Array, storedAtMs: number, subject: string): Row {
  let d: { stage?: unknown; code?: unknown; reason?: unknown; source?: unknown; payloadBase64?: unknown; payloadBytes?: unknown; truncated?: unknown; atMs?: unknown };
  try {
    d = JSON.parse(utf8.decode(data)) as typeof d;
    if (typeof d !== "object" || d === null || typeof d.code !== "string") throw new Error("not a dead letter");
  } catch {
    const stage = subject.split(".")[2] ?? "";
    return { stage, code: "unreadable", reason: "the DLQ message is not a dead letter", source: subject, payload: text(data), at_ms: Math.round(storedAtMs) };
  }
  const bytes = typeof d.payloadBase64 === "string" ? Buffer.from(d.payloadBase64, "base64") : new Uint8Array(0);
  const cut = d.truncated === true ? ` (payload cut to ${bytes.length} of ${String(d.payloadBytes)} bytes)` : "";
  return {
    stage: typeof d.stage === "string" ? d.stage : "",
    code: d.code,
    reason: `${typeof d.reason === "string" ? d.reason : ""}${cut}`,
    source: typeof d.source === "string" ? d.source : subject,
    payload: text(bytes),
    at_ms: typeof d.atMs === "number" && Number.isSafeInteger(d.atMs) ? d.atMs : Math.round(storedAtMs),
  };
}

function text(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return `base64:${Buffer.from(bytes).toString("base64")}`;
  }
}
