import type { Row } from "./row-sink.js";

/** One message for one actor, as it came off the journal. */
export interface Envelope {
  /** Actor type, e.g. "device". */
  readonly actorType: string;
  /** Actor id, e.g. the device id. */
  readonly actorId: string;
  /** Partition the actor lives in (fnv1a(id) % P). */
  readonly partition: number;
  /** JetStream stream sequence of the journal message (0 when the message is not from the journal). */
  readonly streamSeq: number;
  /** The message, tagged by `type`. */
  readonly msg: { readonly type: string };
}

/** An event to publish on NATS. */
export interface OutEvent {
  readonly subject: string;
  readonly data: unknown;
}

/** A message that failed and must be dead-lettered with a reason. */
export interface OutDeadLetter {
  readonly stage: string;
  readonly code: string;
  readonly reason: string;
  readonly envelope: Envelope;
}

/** A service call an actor asked for; the host routes the reply back as a message. */
export interface OutCall {
  readonly from: { readonly type: string; readonly id: string };
  readonly service: string;
  readonly method: string;
  readonly req: unknown;
  readonly callId: number;
}

/** Effects of processing one delivered batch, committed by the caller (I/O happens outside the host). */
export interface BatchEffects {
  /** Rows by table; the caller makes them durable before acknowledging the batch upstream. */
  readonly rows: Map<string, Row[]>;
  readonly events: OutEvent[];
  readonly calls: OutCall[];
  readonly deadLetters: OutDeadLetter[];
}

/**
 * Hosts actors and runs their turns. The ingest loop hands it batches (one per journal pull) and
 * commits the returned effects: rows to the sink, then ack; events to NATS; dead letters to the DLQ.
 * Implementations: in-thread (tests, small sites) and worker-thread shards (src/runtime).
 */
export interface ActorHost {
  /** Process a batch in order per actor; resolves with the batch's effects. */
  deliver(batch: readonly Envelope[]): Promise<BatchEffects>;
  /** Stop accepting work, finish in-flight turns, release resources. */
  close(): Promise<void>;
}
