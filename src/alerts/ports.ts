import type { AlertTransition } from "../domain/alerts.js";
import type { Silence, SilenceStore } from "../ports/alerts.js";

/**
 * What the relay and the notifier work on (their walls): the alerts stream, the idempotency marks,
 * the notifier's saved state and the live silences. The NATS adapters implement them
 * (src/adapters/nats/alert-stream.ts, notified-kv.ts, silences-kv.ts); src/cli wires them in.
 */

/** Publishes transitions to the alerts stream, each with its id `${alertId}:${version}` as the message id. */
export interface AlertPublisher {
  /** Resolves once every transition is stored (a duplicate the stream dropped counts as stored); rejects retryably otherwise. */
  publish(ts: readonly AlertTransition[]): Promise<void>;
}

/** A running consumer; `stop` waits for the transition in hand. */
export interface Running {
  stop(): Promise<void>;
}

/** The alerts stream read durably, in order, one transition at a time. */
export interface AlertFeed {
  /**
   * Hands over every transition after the acknowledged ones, in stream order, one at a time; a
   * transition is acknowledged once `handle` resolves. A rejection hands the same transition over
   * again after a backoff (nothing after it comes first). A message that is no transition goes to
   * `poison` (which must dead-letter it) and is acknowledged.
   */
  start(handle: (t: AlertTransition, seq: number) => Promise<void>, poison: (raw: Uint8Array, seq: number, err: unknown) => Promise<void>): Running;
  /** Stream sequence up to which every message is acknowledged (0: none). */
  ackFloor(): Promise<number>;
  /** Calls `fn` with the transitions of stream sequences (afterSeq, toSeq], in order (what the stream still holds of them). */
  replay(afterSeq: number, toSeq: number, fn: (t: AlertTransition, seq: number) => void): Promise<void>;
}

/** Which notifications a target has received (idempotency by target and notification id). */
export interface NotifiedMarks {
  has(target: string, id: string): Promise<boolean>;
  mark(target: string, id: string): Promise<void>;
}

/** The notifier's saved state (storm control) and the stream sequence it reflects. */
export interface NotifierStateStore {
  loadState(name: string): Promise<{ readonly seq: number; readonly state: string } | undefined>;
  saveState(name: string, seq: number, state: string): Promise<void>;
}

/** Silences as they are now (a live view), and their removal (the notifier sweeps expired ones). */
export interface LiveSilences extends Pick<SilenceStore, "remove"> {
  current(): readonly Silence[];
}
