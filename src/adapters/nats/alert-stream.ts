import { AckPolicy, DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JsMsg } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import type { AlertTransition } from "../../domain/alerts.js";
import { alertSubject, ALERTS_PREFIX } from "../../domain/subjects.js";
import { backoffMs } from "../../base/backoff.js";
import { sleep } from "../../base/clock.js";
import { describeError, ShoalError } from "../../base/errors.js";
import { ensureStream, isNotFound } from "./streams.js";
import { startPullLoop } from "./pull-loop.js";

/** The stream of alert transitions (docs/adr/0016-alerts.md). */
export const ALERTS_STREAM = "SHOAL_ALERTS";
/** Every alert subject: shoal.alerts.<deviceId>. */
export const ALERTS_SUBJECTS = `${ALERTS_PREFIX}.>`;

/** Options of {@link ensureAlertStream}. */
export interface AlertStreamOptions {
  /** Copies of the stream (`nats.replicas`). */
  readonly replicas: number;
  /** Window in which a repeated message id is dropped, ms (at least 2 minutes). */
  readonly duplicateWindowMs: number;
  /** How long transitions are kept, ms. Default 30 days. */
  readonly maxAgeMs?: number;
}

const DAY = 86_400_000;

/** Creates SHOAL_ALERTS (file storage, limits retention) or updates it when a setting given here differs. */
export async function ensureAlertStream(nc: NatsConnection, o: AlertStreamOptions): Promise<void> {
  const maxAge = o.maxAgeMs ?? 30 * DAY;
  await ensureStream(await jetstreamManager(nc), {
    name: ALERTS_STREAM,
    subjects: [ALERTS_SUBJECTS],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(maxAge),
    duplicate_window: nanos(Math.min(maxAge, Math.max(120_000, o.duplicateWindowMs))),
    num_replicas: o.replicas,
  });
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Publishes transitions to SHOAL_ALERTS on alertSubject(deviceId) as JSON, message id
 * `${alertId}:${version}`, all at once (in order on the connection); resolves when every PubAck
 * came. A failure rejects with a retryable ShoalError ("unavailable"): publish again.
 */
export function createAlertPublisher(nc: NatsConnection, opts: { readonly timeoutMs?: number } = {}): { publish(ts: readonly AlertTransition[]): Promise<void>; readonly duplicates: number } {
  const js = jetstream(nc);
  const self = {
    duplicates: 0,
    async publish(ts: readonly AlertTransition[]): Promise<void> {
      try {
        const acks = await Promise.all(ts.map((t) => js.publish(alertSubject(t.deviceId), enc.encode(JSON.stringify(t)), { msgID: `${t.alertId}:${t.version}`, timeout: opts.timeoutMs ?? 5_000 })));
        for (const a of acks) if (a.duplicate) self.duplicates++;
      } catch (e) {
        throw new ShoalError(`alerts stream publish failed: ${describeError(e)}`, { code: "unavailable", retryable: true, cause: e });
      }
    },
  };
  return self;
}

/** Options of {@link createAlertConsumer}. */
export interface AlertConsumerOptions {
  /** Durable consumer name (the position survives restarts). Default "shoal-notifier". */
  readonly name?: string;
  /** Ack wait, ms; a transition in hand is kept alive (`working`) every third of it. Default 60 000. */
  readonly ackWaitMs?: number;
}

/**
 * The notifier's side of SHOAL_ALERTS: a durable pull consumer with one message in flight
 * (max_ack_pending 1, one message per pull), so transitions come strictly in stream order even when
 * one is handed over again; acknowledgements are confirmed (ackAck) so the ack floor is exact. See AlertFeed
 * (src/alerts/ports.ts).
 */
export function createAlertConsumer(nc: NatsConnection, o: AlertConsumerOptions = {}) {
  const name = o.name ?? "shoal-notifier";
  const ackWaitMs = o.ackWaitMs ?? 60_000;
  const ensure = async () => {
    const jsm = await jetstreamManager(nc);
    const cfg = {
      durable_name: name,
      filter_subject: ALERTS_SUBJECTS,
      deliver_policy: DeliverPolicy.All,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(ackWaitMs),
      max_deliver: -1,
      max_ack_pending: 1,
    };
    try {
      const info = await jsm.consumers.info(ALERTS_STREAM, name);
      if (info.config.max_ack_pending !== 1 || info.config.ack_wait !== cfg.ack_wait) return await jsm.consumers.update(ALERTS_STREAM, name, { max_ack_pending: 1, ack_wait: cfg.ack_wait });
      return info;
    } catch (e) {
      if (!isNotFound(e)) throw e;
      return jsm.consumers.add(ALERTS_STREAM, cfg);
    }
  };
  return {
    start(handle: (t: AlertTransition, seq: number) => Promise<void>, poison: (raw: Uint8Array, seq: number, err: unknown) => Promise<void>) {
      // One message per pull: nothing is delivered ahead of what is handled, so a stop leaves no
      // message delivered and unanswered (it would hold the one slot for the ack wait).
      return startPullLoop(nc, { stream: ALERTS_STREAM, consumer: name, ensure, batch: 1, mode: "sequential", handle: (m) => one(m, handle, poison, ackWaitMs) });
    },
    async ackFloor(): Promise<number> {
      return (await ensure()).ack_floor.stream_seq;
    },
    replay: (afterSeq: number, toSeq: number, fn: (t: AlertTransition, seq: number) => void) => replay(nc, afterSeq, toSeq, fn),
  };
}

async function one(m: JsMsg, handle: (t: AlertTransition, seq: number) => Promise<void>, poison: (raw: Uint8Array, seq: number, err: unknown) => Promise<void>, ackWaitMs: number): Promise<void> {
  let t: AlertTransition;
  try {
    t = parseTransition(m.data);
  } catch (e) {
    await poison(m.data, m.seq, e);
    await confirmAck(m);
    return;
  }
  // Webhooks may retry for longer than the ack wait: keep the message ours meanwhile.
  const keep = setInterval(() => m.working(), Math.max(1_000, Math.floor(ackWaitMs / 3)));
  try {
    await handle(t, m.seq);
  } catch {
    // Again after a backoff; with one message in flight nothing overtakes it.
    m.nak(backoffMs(Math.max(0, m.info.deliveryCount - 1), 1_000, 60_000));
    return;
  } finally {
    clearInterval(keep);
  }
  await confirmAck(m);
}

/** Acks and waits for the server's confirmation (a lost ack would hold the one slot for the ack wait). */
async function confirmAck(m: JsMsg): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await m.ackAck({ timeout: 5_000 });
      return;
    } catch {
      await sleep(backoffMs(attempt, 100, 1_000));
    }
  }
}

/** An AlertTransition from a message body (JSON); throws when it is not one. */
export function parseTransition(data: Uint8Array): AlertTransition {
  const t = JSON.parse(dec.decode(data)) as Partial<AlertTransition> | null;
  if (t === null || typeof t !== "object" || typeof t.alertId !== "string" || typeof t.version !== "number" || typeof t.deviceId !== "string" || typeof t.rule !== "string" || typeof t.kind !== "string" || typeof t.atMs !== "number") {
    throw new ShoalError("not an alert transition", { code: "invalid_input", retryable: false });
  }
  return t as AlertTransition;
}

/** Transitions of stream sequences (afterSeq, toSeq] in order, through an ephemeral consumer. */
async function replay(nc: NatsConnection, afterSeq: number, toSeq: number, fn: (t: AlertTransition, seq: number) => void): Promise<void> {
  if (toSeq <= afterSeq) return;
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const info = await jsm.consumers.add(ALERTS_STREAM, {
    filter_subject: ALERTS_SUBJECTS,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: afterSeq + 1,
    ack_policy: AckPolicy.None,
    mem_storage: true,
    inactive_threshold: nanos(60_000),
  });
  try {
    const consumer = await js.consumers.get(ALERTS_STREAM, info.name);
    for (;;) {
      const it = await consumer.fetch({ max_messages: 512, expires: 5_000 });
      let got = 0;
      for await (const m of it) {
        got++;
        if (m.seq > toSeq) return;
        let t: AlertTransition | undefined;
        try {
          t = parseTransition(m.data);
        } catch {
          // Not a transition: it was dead-lettered when it came.
        }
        if (t !== undefined) fn(t, m.seq);
        if (m.seq === toSeq) return;
      }
      if (got === 0) return; // nothing more held (purged or aged out)
    }
  } finally {
    await jsm.consumers.delete(ALERTS_STREAM, info.name).catch(() => {});
  }
}
