/**
 * Commands to devices (downlink, docs/adr/0021-device-commands.md): the status records (a
 * replicated store: NATS KV bucket `commands.bucket` in production), the durable queue of commands
 * waiting for the bridge (JetStream stream SHOAL_COMMANDS), and the MQTT link to the devices.
 * Business rules (which status may follow which) are in src/commands; these are the seams.
 */

/** Where a command is. pending, delivered: open; acknowledged, failed, expired: settled (final). */
export type CommandStatus = "pending" | "delivered" | "acknowledged" | "failed" | "expired";

/** One command and its status, as stored. */
export interface CommandRecord {
  /** `<ms since epoch, base36, 9 digits>-<12 hex>`: time-ordered, also the MQTT correlation data. */
  readonly commandId: string;
  readonly deviceId: string;
  readonly name: string;
  /** Arguments, a JSON object's text. */
  readonly payloadJson: string;
  readonly status: CommandStatus;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
  readonly updatedAtMs: number;
  /** The device's reply (JSON text), once it replied; "" before. */
  readonly replyJson: string;
  /** Why failed or expired; "" otherwise. */
  readonly reason: string;
  /** Token name of the sender. */
  readonly sentBy: string;
  /** Times the bridge handed it to the broker. */
  readonly attempts: number;
  /** The store's revision of this record (compare-and-set). */
  readonly revision: number;
}

/** Where a page of commands ended: the last command it showed. */
export interface CommandCursor {
  readonly commandId: string;
  readonly deviceId: string;
}

/** What to list (CommandStore.list). */
export interface CommandListQuery {
  /** Only this device's commands (undefined = every device's). */
  readonly deviceId?: string;
  /** At most this many records. */
  readonly limit: number;
  /** Only commands after this position (the previous page's last command). */
  readonly after?: CommandCursor;
  /**
   * Only records this accepts (e.g. a status filter): the store reads on, newest first, until
   * `limit` records passed or none are left, so a rare status costs a longer read, not a short page.
   */
  readonly where?: (r: CommandRecord) => boolean;
}

/** A record before the store gave it a revision. */
export type CommandRecordInput = Omit<CommandRecord, "revision">;

/**
 * The status records. Errors: ShoalError "already_exists" (create of a taken id),
 * "storage_unavailable" (retryable) for the store being away.
 */
export interface CommandStore {
  /** Store a new command; "already_exists" when its id is taken. */
  create(record: CommandRecordInput): Promise<CommandRecord>;
  /**
   * One command, or undefined. With `deviceId` only a command of that device is found (a direct
   * read); without it, the command is looked up among every device's (slower: a key listing).
   */
  get(commandId: string, deviceId?: string): Promise<CommandRecord | undefined>;
  /**
   * Commands newest first (command id descending, then device id descending: src/commands/listing.ts),
   * one device's or every device's, at most `limit`, only after `after` and only those `where` accepts.
   */
  list(query: CommandListQuery): Promise<CommandRecord[]>;
  /**
   * Compare-and-set: `change(current)` gives the next record, or undefined for "leave it" (the
   * record as it is is returned, `changed` false). Re-read and re-applied on a concurrent change,
   * so exactly one writer makes each transition. Undefined when there is no such command.
   */
  transition(deviceId: string, commandId: string, change: (current: CommandRecord) => CommandRecordInput | undefined): Promise<{ readonly record: CommandRecord; readonly changed: boolean } | undefined>;
}

/** What the queue carries for the bridge: enough to publish without reading the record first. */
export interface QueuedCommand {
  readonly commandId: string;
  readonly deviceId: string;
  readonly name: string;
  readonly payloadJson: string;
  readonly expiresAtMs: number;
}

/** The durable queue of commands (SHOAL_COMMANDS): the command service's side. */
export interface CommandQueue {
  /** Resolves once the command is durable in the queue (deduplicated by command id). Retryable ShoalError otherwise. */
  enqueue(command: QueuedCommand): Promise<void>;
}

/** What became of one queued command in the bridge's hands. */
export type QueueDisposition =
  /** Finished with: removed from the queue. */
  | { readonly kind: "done" }
  /** Offer it again after `delayMs` (the device was offline, or its expiry is to be checked then). */
  | { readonly kind: "later"; readonly delayMs: number };

/** The bridge's side of the queue: every queued command, one handler call at a time per message. */
export interface CommandFeed {
  /**
   * Hand every queued command to `handle` (again after its "later" delay, or after a crash). A
   * message that is no command goes to `onBad` and is removed.
   */
  start(handle: (command: QueuedCommand) => Promise<QueueDisposition>, onBad: (raw: Uint8Array, err: unknown) => void): { stop(): Promise<void> };
}

/** The broker's answer to one command publish (MQTT 5 PUBACK). */
export type DeliveryOutcome =
  /** Reason 0: a subscription of the device took it (or its persistent session queued it). */
  | { readonly kind: "accepted" }
  /** Reason 16 (no matching subscribers): the device is offline without a session. */
  | { readonly kind: "no_subscribers" }
  /** Any other reason code: the broker refused it (e.g. 135 not authorized). */
  | { readonly kind: "refused"; readonly code: number; readonly reason: string }
  /** No PUBACK (connection down, timeout): nothing is known, try again. */
  | { readonly kind: "unreachable"; readonly reason: string };

/** A message on a device's reply topic. */
export interface DeviceReply {
  /** The device of the topic it came on (`devices/<id>/commands/reply`). */
  readonly deviceId: string;
  /** The MQTT 5 correlation data as UTF-8 text, when the device set it. */
  readonly correlation: string | undefined;
  readonly payload: Uint8Array;
}

/** The MQTT side of the downlink (an MQTT 5 client in production). */
export interface CommandLink {
  /** Publish a command QoS 1 to `devices/<id>/commands` and report the broker's PUBACK. Never throws. */
  send(command: { readonly deviceId: string; readonly commandId: string; readonly name: string; readonly payloadJson: string; readonly expirySec: number }): Promise<DeliveryOutcome>;
  /**
   * Receive every reply (QoS 1, shared between bridges); the reply is acknowledged to the broker
   * once `handle` resolved (a crash before that has it redelivered).
   */
  onReply(handle: (reply: DeviceReply) => Promise<void>): void;
  close(): Promise<void>;
}
