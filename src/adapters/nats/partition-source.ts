import { jetstream, type ConsumerMessages, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { JournalBatch, PartitionSource } from "../../ports/journal.js";
import { partitionConsumerName } from "../../domain/subjects.js";
import { sleep } from "../../base/clock.js";

/** Longest a source's close waits for the client to stop its pull, ms. */
const CLOSE_WAIT_MS = 2000;

/**
 * Life of one pull request, ms. The client asks for idle heartbeats every half of it and re-pulls
 * (after checking the consumer exists, retried `expires` apart) once two are missed: on a JetStream
 * cluster that is how a pull parked on a consumer leader that was SIGKILLed moves to the new leader
 * (elected 4–9 s later on nats-server 2.9.10). Measured on a 3-node harness cluster: at 5 s the
 * first re-pull came ~7 s after the kill and a failed check cost 5 s more (one run resumed after
 * 19 s); at 2 s the pull resumed 1–4 s after the new leader answered. The cost is one pull request
 * per idle partition every 2 s.
 */
const PULL_EXPIRES_MS = 2000;
/** Timeout of the consumer's API requests (the existence check of a re-pull), ms; the client's default is 5 s. */
const API_TIMEOUT_MS = 2000;

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
  private received = 0;
  private lastDelivery = 0;
  private skipped = 0;

  private constructor(readonly partition: number) {}

  static async create(nc: NatsConnection, stream: string, partition: number, pullBatch: number): Promise<JetStreamPartitionSource> {
    const src = new JetStreamPartitionSource(partition);
    const consumer = await jetstream(nc, { timeout: API_TIMEOUT_MS }).consumers.get(stream, partitionConsumerName(partition));
    src.messages = await consumer.consume({
      max_messages: pullBatch,
      expires: PULL_EXPIRES_MS,
      callback: (m) => {
        if (m.seq > src.received) src.received = m.seq;
        // The consumer's delivery sequence: one more per message it sends. A step of more than one
        // is a delivery that never arrived; a step back is a new consumer leader resending.
        const ds = m.info.deliverySequence;
        if (src.lastDelivery > 0 && ds > src.lastDelivery + 1) src.skipped += ds - src.lastDelivery - 1;
        src.lastDelivery = ds;
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

  receivedSeq(): number {
    return this.received;
  }

  skippedDeliveries(): number {
    return this.skipped;
  }

  async close(): Promise<void> {
    this.wake?.();
    // Bounded: after the journal server lost the consumer (restarted on an empty store) the
    // client's close waited forever, and with it the partition's restart (journal watchdog).
    const closed = this.messages?.close().catch(() => undefined);
    await Promise.race([closed, sleep(CLOSE_WAIT_MS)]);
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
