import type { Row, RowSchema } from "./row-sink.js";

/** Address of a virtual actor: its logic type and its id (a device id for device actors). */
export interface ActorAddress {
  readonly type: string;
  readonly id: string;
}

/**
 * A message whose turn is traced: its `trace` is the W3C `traceparent` of the span it continues
 * (set where the message is made: journal decoding for readings, the runtime for call replies).
 * The host records the turn as a span `shoal.actor.turn` and the turn's calls and rows continue
 * it (docs/adr/0023-tracing.md). Messages without it cost nothing.
 */
export interface TracedMessage {
  readonly trace?: string;
}

/**
 * Everything an actor may do, as effects. Effects of one turn are buffered and committed only when
 * `receive` returns; a throwing turn has no effects. No I/O happens inside `receive`.
 */
export interface ActorContext<M> {
  /** The actor's own address. */
  readonly self: ActorAddress;
  /**
   * Time from the injected Clock, ms since epoch, as read when the current slice of turns began
   * (once per slice, not per turn: a slice runs for milliseconds; timers are armed from it too).
   */
  now(): number;
  /** Send a message to another actor (delivered in a later turn). */
  send(to: ActorAddress, msg: unknown): void;
  /** Emit an event on a NATS subject, e.g. `shoal.analysis.<deviceId>`. */
  emit(subject: string, event: unknown): void;
  /** Write a row to a table of the time-series sink; acknowledged upstream only after it is durable. */
  write(table: string, row: Row): void;
  /**
   * Call a service (e.g. the model gateway) asynchronously; the reply comes back later as a message
   * built by `onReply` (or `onError`), so the actor keeps processing other messages meanwhile.
   */
  call<Req, Res>(service: string, method: string, req: Req, onReply: (res: Res) => M, onError: (err: Error) => M): void;
  /** (Re)arm a named timer that delivers `msg` to this actor after `delayMs`. */
  setTimer(name: string, delayMs: number, msg: M): void;
  /** Cancel a named timer; unknown names are ignored. */
  cancelTimer(name: string): void;
  /**
   * Optional (hosts without tracing leave it out): keep a trace of this turn even when its message
   * was not sampled — it matters to operators (an anomaly). The turn starts a trace of its own
   * when its message carries none; its calls and rows continue it.
   */
  keepTrace?(): void;
}

/**
 * Actor logic as a plain object (xstate's ActorLogic shape). Pure: all effects go through ctx.
 * `receive` returns the next state; it may mutate and return the same object, but must not leave
 * it half-updated when it throws (validate first, then commit), because supervision resumes from it.
 */
export interface ActorLogic<S, M extends { readonly type: string }> {
  /** Actor type name, used in addresses, metrics and snapshot keys. */
  readonly type: string;
  /** Fresh state of an actor never seen before. */
  initial(id: string): S;
  /** Apply one message (one turn). */
  receive(state: S, msg: M, ctx: ActorContext<M>): S;
  /** Serialise state for a snapshot. */
  snapshot(state: S): Uint8Array;
  /** Rebuild state from a snapshot. */
  restore(bytes: Uint8Array, id: string): S;
  /**
   * Optional: the highest device sequence number applied to `state` (the actor's dedup high-water
   * mark). Stored beside snapshots as `lastDeviceSeq` for introspection and recovery checks.
   */
  lastSeq?(state: S): number;
  /**
   * Optional: apply a live configuration change to this logic instance (shared by all its actors
   * in one worker). Called on every worker before the actors get a `config` message; must validate
   * first and throw without changing anything when `settings` is invalid.
   */
  configure?(settings: unknown): void;
  /**
   * Optional: the runtime is done with `state` (passivated after its snapshot, or dropped with its
   * partition); release what it holds outside itself (e.g. a block of a shared arena). Called once
   * per state; the state is never used by the runtime afterwards.
   */
  dispose?(state: S): void;
  /**
   * Optional: counters of this logic instance since it was created (e.g. what became of the
   * readings it saw), reported per worker with the host's stats and exported as metrics. Plain
   * numbers, monotonic.
   */
  counters?(): Readonly<Record<string, number>>;
  /**
   * Optional: the columns of the tables this logic writes (`ctx.write`), by table. Rows of these
   * tables are encoded as RowBinary where the actors run and inserted as such; rows of other tables
   * (or rows that do not fit) travel as objects. Two logics of one host must agree on a table's schema.
   */
  readonly rowSchemas?: Readonly<Record<string, RowSchema>>;
}
