/** One journal message of a partition. */
export interface JournalMessage {
  readonly data: Uint8Array;
  /** Stream sequence (position in the journal). */
  readonly streamSeq: number;
  /** Delivery attempt, from 1. */
  readonly deliveryCount: number;
  readonly subject: string;
  /** When the journal stored it, ms since the epoch (the journal server's clock), if known. */
  readonly storedAtMs?: number;
}

/** A batch pulled from one partition. */
export interface JournalBatch {
  readonly partition: number;
  readonly messages: readonly JournalMessage[];
  /** Acknowledge every message of the batch. */
  ack(): void;
  /** Ask for redelivery of the whole batch after `delayMs`. */
  nak(delayMs?: number): void;
}

/** Pulls batches of one partition of the journal (a durable pull consumer in production). */
export interface PartitionSource {
  readonly partition: number;
  /** Up to `max` messages, waiting at most `expiresMs`; an empty batch when nothing arrived. */
  next(max: number, expiresMs: number): Promise<JournalBatch>;
  /** Make a pending `next` return now (with what has arrived, possibly nothing): the pump is stopping. */
  interrupt?(): void;
  /**
   * Highest stream sequence received from the journal so far (0 before the first): the journal
   * watchdog compares it with what the journal says it delivered, to see a delivery that never came.
   */
  receivedSeq?(): number;
  /**
   * Deliveries the journal made to this source that never arrived, counted from gaps in the
   * consumer's delivery sequence (which goes up by one per message sent, redeliveries included):
   * a message lost on the way, e.g. sent by a consumer leader that died as it sent it. Such a
   * message would come back only after ack_wait; the journal watchdog restarts the partition from
   * its ack floor instead.
   */
  skippedDeliveries?(): number;
  close(): Promise<void>;
}

/** Publishes events and dead letters. */
export interface EventPublisher {
  /** Fire-and-forget event (core NATS). */
  event(subject: string, data: unknown): void;
  /** Durable dead letter; resolves on the PubAck. */
  deadLetter(dl: { readonly stage: string; readonly code: string; readonly reason: string; readonly source: string; readonly payload: Uint8Array }): Promise<void>;
}

/** Where a partition's durable consumer stands. */
export interface ConsumerPosition {
  /** Messages delivered to a previous owner and never acknowledged. */
  readonly ackPending: number;
  /** Stream sequence up to which every message of the partition is acknowledged. */
  readonly ackFloor: number;
}

/**
 * The journal's per-partition durable consumers (JetStream in production): where each stands, how
 * to take back what a dead owner held, and how to pull a partition.
 */
export interface PartitionConsumers {
  position(partition: number): Promise<ConsumerPosition>;
  /** Redeliver everything after `ackFloor`, in order (a previous owner died holding it). */
  rewind(partition: number, ackFloor: number): Promise<void>;
  /** A source pulling the partition, at most `maxMessages` per pull. */
  open(partition: number, maxMessages: number): Promise<PartitionSource>;
}
