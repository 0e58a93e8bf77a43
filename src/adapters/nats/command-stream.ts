import { AckPolicy, DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JsMsg } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import type { CommandFeed, CommandQueue, QueueDisposition, QueuedCommand } from "../../ports/commands.js";
import { describeError, ShoalError } from "../../base/errors.js";
import { COMMAND_ID_RE } from "../../commands/ids.js";
import { DEVICE_ID_RE } from "../../domain/reading-codec.js";
import { ensureStream, isNotFound } from "./streams.js";
import { startPullLoop } from "./pull-loop.js";

/** The stream of queued commands (docs/adr/0021-device-commands.md). */
export const COMMANDS_STREAM = "SHOAL_COMMANDS";
/** Subjects: `shoal.commands.<deviceId>`. */
export const COMMANDS_PREFIX = "shoal.commands";
/** The bridges' shared durable consumer. */
export const DOWNLINK_CONSUMER = "shoal-downlink";
/** Longest a command may wait (the largest TTL): the stream's max age. */
const MAX_AGE_MS = 7 * 86_400_000;

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Creates SHOAL_COMMANDS (or updates it when a setting differs): work-queue retention (a command
 * leaves the stream once a bridge acknowledged it: settled or expired), file storage, max age 7 days
 * (the longest TTL), duplicate window 2 minutes (a re-sent enqueue of the same command id is dropped).
 */
export async function ensureCommandStream(nc: NatsConnection, o: { readonly replicas: number }): Promise<void> {
  await ensureStream(await jetstreamManager(nc), {
    name: COMMANDS_STREAM,
    subjects: [`${COMMANDS_PREFIX}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Workqueue,
    discard: DiscardPolicy.Old,
    max_age: nanos(MAX_AGE_MS),
    duplicate_window: nanos(120_000),
    num_replicas: o.replicas,
  });
}

/** The command service's side: publish a command, durable once the PubAck came (message id = command id). */
export function createCommandQueue(nc: NatsConnection, opts: { readonly timeoutMs?: number } = {}): CommandQueue {
  const js = jetstream(nc);
  return {
    async enqueue(c: QueuedCommand): Promise<void> {
      try {
        await js.publish(`${COMMANDS_PREFIX}.${c.deviceId}`, enc.encode(JSON.stringify(c)), { msgID: c.commandId, timeout: opts.timeoutMs ?? 5_000 });
      } catch (e) {
        throw new ShoalError(`commands stream publish failed: ${describeError(e)}`, { code: "unavailable", retryable: true, cause: e });
      }
    },
  };
}

/** Options of {@link createCommandFeed}. */
export interface CommandFeedOptions {
  /** Durable consumer name. Default "shoal-downlink". */
  readonly name?: string;
  /** Ack wait, ms: a command in a bridge's hands longer than that is offered again. Default 30 000. */
  readonly ackWaitMs?: number;
  /** Commands pulled at once (handled concurrently). Default 64. */
  readonly batch?: number;
}

/**
 * The bridges' side of SHOAL_COMMANDS: one durable pull consumer shared by every bridge (each
 * command goes to one of them at a time), explicit acks, unlimited deliveries. A "done" command is
 * acknowledged (and so removed: work queue), a "later" one nak'ed with its delay, so JetStream is
 * the durable timer of retries and of expiry. Pull errors (a NATS node away, the stream re-created)
 * are retried with backoff; the stream and consumer are re-ensured each time.
 */
export function createCommandFeed(nc: NatsConnection, o: CommandFeedOptions & { readonly replicas: number }): CommandFeed {
  const name = o.name ?? DOWNLINK_CONSUMER;
  const ackWaitMs = o.ackWaitMs ?? 30_000;
  const batch = o.batch ?? 64;
  const ensure = async () => {
    await ensureCommandStream(nc, o);
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.consumers.info(COMMANDS_STREAM, name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await jsm.consumers.add(COMMANDS_STREAM, {
        durable_name: name,
        filter_subject: `${COMMANDS_PREFIX}.>`,
        deliver_policy: DeliverPolicy.All,
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(ackWaitMs),
        max_deliver: -1,
        max_ack_pending: 10_000,
      });
    }
  };
  return {
    start(handle, onBad) {
      const one = async (m: JsMsg) => {
        let c: QueuedCommand;
        try {
          c = decode(m.data);
        } catch (e) {
          onBad(m.data, e);
          m.term();
          return;
        }
        let d: QueueDisposition;
        try {
          d = await handle(c);
        } catch {
          d = { kind: "later", delayMs: 1_000 };
        }
        if (d.kind === "done") m.ack();
        else m.nak(d.delayMs);
      };
      // The commands of a pull are handled together (each its own device).
      return startPullLoop(nc, { stream: COMMANDS_STREAM, consumer: name, ensure, batch, mode: "concurrent", handle: one });
    },
  };
}

function decode(data: Uint8Array): QueuedCommand {
  const v = JSON.parse(dec.decode(data)) as Record<string, unknown>;
  if (
    typeof v.commandId === "string" &&
    COMMAND_ID_RE.test(v.commandId) &&
    typeof v.deviceId === "string" &&
    DEVICE_ID_RE.test(v.deviceId) &&
    typeof v.name === "string" &&
    typeof v.payloadJson === "string" &&
    typeof v.expiresAtMs === "number"
  ) {
    return { commandId: v.commandId, deviceId: v.deviceId, name: v.name, payloadJson: v.payloadJson, expiresAtMs: v.expiresAtMs };
  }
  throw new Error("not a queued command");
}
