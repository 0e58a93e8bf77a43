import { jetstream, type ConsumerMessages, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { JournalBatch, PartitionSource } from "../../ports/journal.js";
import { partitionConsumerName } from "../../domain/subjects.js";

/**
 * PartitionSource on a durable JetStream pull consumer with explicit acks (a nak'd message never
 * gets acknowledged implicitly by a later ack, as it would with ack policy All).
 * Messages stream in through `consume()` and are handed out in batches of what has arrived, so a
 * batch never waits to fill up (latency) and never exceeds `max`. The consumer's max_ack_pending is
 * the credit: the server stops delivering while that many messages are unacknowledged, which bounds
 * the local buffer and carries backpressure from the sink to the journal.
 */
export class JetStreamPartitionSource implements PartitionSource {
  private buf: JsMsg[] = [];
  private wake: (() => void) | undefined;
  private messages: ConsumerMessages | undefined;

  private constructor(readonly partition: number) {}

  static async create(nc: NatsConnection, stream: string, partition: number, pullBatch: number): Promise<JetStreamPartitionSource> {
    const src = new JetStreamPartitionSource(partition);
    const consumer = await jetstream(nc).consumers.get(stream, partitionConsumerName(partition));
    src.messages = await consumer.consume({
      max_messages: pullBatch,
      expires: 5000,
      callback: (m) => {
        src.buf.push(m);
        src.wake?.();
      },
    });
    return src;
  }

  async next(max: number, expiresMs: number): Promise<JournalBatch> {
    if (this.buf.length === 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => resolve(), expiresMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
    const raw = this.buf.length <= max ? this.buf.splice(0) : this.buf.splice(0, max);
    return {
      partition: this.partition,
      messages: raw.map((m) => ({ data: m.data, streamSeq: m.seq, deliveryCount: m.info.deliveryCount, subject: m.subject, storedAtMs: m.info.timestampNanos / 1e6 })),
      ack: () => deferAcks(raw),
      nak: (delayMs?: number) => {
        for (const m of raw) m.nak(delayMs);
      },
    };
  }

  interrupt(): void {
    this.wake?.();
  }

  async close(): Promise<void> {
    this.wake?.();
    await this.messages?.close();
  }
}

/**
 * Acks of the batches committed in one event-loop turn, sent together at its end: the NATS client
 * writes its buffer once per microtask round, and each batch commits in a round of its own (a
 * write system call each, a visible share of the runtime's CPU). An ack sent a turn later changes
 * nothing: the message is durable and acknowledged in order either way (ADR 0009).
 */
let ackQueue: JsMsg[][] = [];
function deferAcks(msgs: JsMsg[]): void {
  if (ackQueue.length === 0) setImmediate(flushAcks);
  ackQueue.push(msgs);
}
function flushAcks(): void {
  const q = ackQueue;
  ackQueue = [];
  for (const msgs of q) for (const m of msgs) m.ack();
}
