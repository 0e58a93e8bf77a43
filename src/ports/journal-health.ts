/**
 * What a role can see of the journal's own state (JetStream in production): its streams, the
 * snapshot bucket and the durable partition consumers. The journal watchdog (src/node) reads these
 * facts every second or two to notice a journal server that lost its store (power loss, a node
 * restarted empty) — which the data path alone shows only as silence.
 */

/** One stream (or the stream behind a KV bucket). */
export interface StreamFacts {
  readonly name: string;
  /** "stream" for the readings and dead-letter streams, "bucket" for the snapshot bucket. */
  readonly kind: "stream" | "bucket";
  readonly exists: boolean;
  /** Last stream sequence (0 when empty or missing). */
  readonly lastSeq: number;
  /** Messages held (0 when missing). */
  readonly messages: number;
  /** When the server created it (ISO time); a different value means it was re-created. */
  readonly created?: string;
}

/** One partition's durable consumer on the readings stream. */
export interface ConsumerFacts {
  readonly partition: number;
  readonly exists: boolean;
  /** Stream sequence last delivered (0 when none or missing). */
  readonly deliveredSeq: number;
  /** Stream sequence up to which everything is acknowledged. */
  readonly ackFloor: number;
  /** Messages not yet acknowledged: undelivered + delivered and unacked. */
  readonly unprocessed: number;
  /** Delivered and not yet acknowledged (a part of `unprocessed`). Default 0. */
  readonly ackPending?: number;
}

/** Everything a watchdog round read. */
export interface JournalFacts {
  /** The readings stream first, then the others (dead letters, the snapshot bucket). */
  readonly streams: readonly StreamFacts[];
  /** Consumers of the partitions asked for (none when the readings stream is missing). */
  readonly consumers: readonly ConsumerFacts[];
}

/** Reads the journal's state. Rejects when the journal cannot be asked (server down): no facts. */
export interface JournalProbe {
  /** Streams, bucket and the consumers of `partitions`. */
  facts(partitions: readonly number[]): Promise<JournalFacts>;
}

/** Re-creates what is missing (streams, consumers, bucket); changes nothing that is right. */
export interface JournalRepair {
  repair(): Promise<void>;
}
