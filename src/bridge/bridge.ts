import { decodeReadings, deviceIdFromTopic, type ReadingLimits, type Rejection } from "../domain/reading-codec.js";
import { partitionOf } from "../domain/partition.js";
import type { EventPublisher } from "../ports/journal.js";
import type { Clock } from "../ports/clock.js";
import type { StageObserver } from "../ports/stages.js";
import type { DeviceAdmission } from "../ports/device-registry.js";
import { JournalBatcher, type Ackable, type AckToken, type JournalPublish } from "./journal-batcher.js";
import { DeviceOrder } from "./device-order.js";
import type { Tracing } from "../ports/tracing.js";

export type { JournalPublish } from "./journal-batcher.js";

/** Counters of the bridge (exported as metrics by the composition root). */
export interface BridgeStats {
  /** MQTT messages received. */
  received: number;
  /** Readings made durable in the journal. */
  accepted: number;
  /** Readings of journal messages JetStream reported as duplicates (a publish sent again). */
  duplicate: number;
  /** MQTT messages rejected (dead-lettered with a code). */
  rejected: number;
  rejectedByCode: Record<string, number>;
  /** Journal publishes (or dead letters) that failed (the MQTT message stays unacked: redelivered). */
  publishFailures: number;
  /** Journal messages published. */
  batches: number;
  /** Readings that waited for an earlier reading of their device (arrived out of order). */
  reordered: number;
  /** Of those, readings released because the earlier one did not come within the wait. */
  reorderTimedOut: number;
  /** Readings that came after a later one of their device had gone on (scored out of time order). */
  reorderLate: number;
  /** How long a reading that overtook an earlier one waits now (grows while readings come late), s. */
  reorderHoldSeconds: number;
}

/** Options of the bridge core. */
export interface BridgeCoreOptions {
  readonly partitions: number;
  readonly limits: ReadingLimits;
  /** See JournalBatcherOptions.windowMs. Default 0 (one event-loop turn). */
  readonly batchWindowMs?: number;
  /** Most readings per journal message. Default 1000. */
  readonly batchMaxReadings?: number;
  /** Most bytes of readings per journal message. Default 256 KiB. */
  readonly batchMaxBytes?: number;
  /**
   * Readings held (accepted, not yet durable) above which `admitted()` is false: the MQTT side
   * stops reading until they drop below. Default 20,000.
   */
  readonly maxHeldReadings?: number;
  /**
   * Longest a reading that arrived ahead of an earlier one of its device waits for it, ms (the
   * bridge's connections share the subscription, so a device's publishes arrive out of order).
   * 0: no reordering. Default 200.
   */
  readonly reorderHoldMs?: number;
  /** The wait grows up to this while readings come late all the same, ms. Default: reorderHoldMs (fixed). */
  readonly reorderHoldMaxMs?: number;
  /** Nats-Msg-Id prefix of this process's journal messages (unique per start). */
  readonly msgIdPrefix: string;
  /** Time of the readings' window check (`limits.maxClockSkewMs`, `limits.maxAgeMs`) and of the batcher. */
  readonly clock: Clock;
  /** Where readings wait (stage `journal`). */
  readonly stages?: StageObserver;
  /**
   * Device admission (the device registry's strict mode): called with the topic's device id of
   * every message before its payload is decoded; a rejection returned (`unknown_device`,
   * `device_disabled`) is dead-lettered and counted like any other. Undefined: every device is
   * admitted. Runs once per message on the hot path: an in-memory lookup that must not throw.
   */
  readonly admit?: (deviceId: string) => Rejection | undefined;
  /**
   * Tracing (docs/adr/0023-tracing.md): a message whose trace is sampled (its MQTT 5 `traceparent`,
   * or the head-sampling ratio) gets a span `shoal.bridge.accept` that ends when its readings are
   * durable, and its readings carry the span's context into the journal. Default: off.
   */
  readonly tracing?: Tracing;
}

/**
 * The rejection of a device the registry does not admit in `registry.mode: strict` (for
 * {@link BridgeCoreOptions.admit}): `unknown_device`, `device_disabled`, or undefined when known.
 */
export function admissionRejection(deviceId: string, admission: DeviceAdmission): Rejection | undefined {
  if (admission === "known") return undefined;
  return admission === "unknown"
    ? { code: "unknown_device", reason: `device "${deviceId}" is not in the device registry (registry.mode: strict)` }
    : { code: "device_disabled", reason: `device "${deviceId}" is disabled in the device registry` };
}

/**
 * The transport-independent heart of the bridge: admit the topic's device (`admit`), validate an
 * MQTT message (one reading or a device's batch; the input contract, docs/input-contract.md), pack
 * its readings into their partitions' journal messages, and acknowledge the MQTT message only once
 * every one of its readings is durable in the journal (or its dead letter is). Never throws. `admitted()` tells the MQTT side whether to go on reading (backpressure).
 */
export function createBridgeCore(o: BridgeCoreOptions, publish: JournalPublish, deadLetter: EventPublisher["deadLetter"]) {
  const batcher = new JournalBatcher(
    {
      windowMs: o.batchWindowMs ?? 0,
      maxReadings: o.batchMaxReadings ?? 1000,
      maxBytes: o.batchMaxBytes ?? 256 * 1024,
      msgIdPrefix: o.msgIdPrefix,
      clock: o.clock,
      onSettled: () => wake(),
      ...(o.stages ? { onDurable: (ms: number) => o.stages!("journal", ms) } : {}),
    },
    publish,
  );
  const maxHeld = o.maxHeldReadings ?? 20_000;
  const admit = o.admit;
  const tracing = o.tracing?.enabled === true ? o.tracing : undefined;
  const order = new DeviceOrder<AckToken>(
    { holdMs: o.reorderHoldMs ?? 200, maxHoldMs: o.reorderHoldMaxMs ?? o.reorderHoldMs ?? 200, maxDevices: 200_000, maxHeld: Math.max(1, maxHeld), clock: o.clock },
    // Every reading of one message is of the topic's device: one partition.
    (r, token) => batcher.add(partitionOf(r.deviceId, o.partitions), r, token),
  );
  const counts = { received: 0, rejected: 0, rejectedByCode: {} as Record<string, number>, deadLetterFailures: 0 };
  let deadLettering = 0;
  let waiters: (() => void)[] = [];

  const stats: BridgeStats = {
    get received() {
      return counts.received;
    },
    get accepted() {
      return batcher.stats.readings;
    },
    get duplicate() {
      return batcher.stats.duplicate;
    },
    get rejected() {
      return counts.rejected;
    },
    get rejectedByCode() {
      return counts.rejectedByCode;
    },
    get publishFailures() {
      return batcher.stats.publishFailures + counts.deadLetterFailures;
    },
    get batches() {
      return batcher.stats.batches;
    },
    get reordered() {
      return order.stats.held;
    },
    get reorderTimedOut() {
      return order.stats.timedOut;
    },
    get reorderLate() {
      return order.stats.late;
    },
    get reorderHoldSeconds() {
      return order.holdMs / 1000;
    },
  } as BridgeStats;

  const held = () => batcher.held + order.held + deadLettering;
  const admitted = () => held() < maxHeld;
  const wake = () => {
    if (waiters.length > 0 && admitted()) for (const w of waiters.splice(0)) w();
  };

  /**
   * Take one MQTT message; `msg.ack()` sends its PUBACK once everything of it is durable.
   * `traceparent`: the W3C trace context the device sent (MQTT 5 user property), if any.
   */
  function handle(topic: string, payload: Uint8Array, msg: Ackable, traceparent?: string): void {
    if (tracing !== undefined) return handleTraced(topic, payload, msg, traceparent, tracing);
    handlePlain(topic, payload, msg);
  }

  function handlePlain(topic: string, payload: Uint8Array, msg: Ackable): void {
    counts.received++;
    const t = deviceIdFromTopic(topic);
    if (!t.ok) return reject(t, topic, payload, msg);
    if (admit !== undefined) {
      const no = admit(t.deviceId);
      if (no !== undefined) return reject(no, topic, payload, msg);
    }
    const d = decodeReadings(payload, t.deviceId, o.limits, o.clock.now());
    if (!d.ok) return reject(d, topic, payload, msg);
    const token: AckToken = { left: d.readings.length, msg };
    for (const r of d.readings) order.offer(r, token);
  }

  /** `handle` with tracing on: the message's span (when sampled) ends once it is durable or dead-lettered. */
  function handleTraced(topic: string, payload: Uint8Array, msg: Ackable, traceparent: string | undefined, tr: Tracing): void {
    const span = tr.start("shoal.bridge.accept", { ...(traceparent !== undefined ? { parent: traceparent } : {}), kind: "consumer", attributes: { "messaging.system": "mqtt", "messaging.destination.name": topic, "messaging.message.body.size": payload.length } });
    if (span === undefined) return handlePlain(topic, payload, msg);
    const done: Ackable = {
      ack() {
        span.end();
        msg.ack();
      },
    };
    counts.received++;
    const refuse = (rej: Rejection): void => {
      span.setAttribute("shoal.dead_letter.code", rej.code);
      span.fail(`${rej.code}: ${rej.reason}`);
      reject(rej, topic, payload, done);
    };
    const t = deviceIdFromTopic(topic);
    if (!t.ok) return refuse(t);
    const no = admit !== undefined ? admit(t.deviceId) : undefined;
    if (no !== undefined) return refuse(no);
    const d = decodeReadings(payload, t.deviceId, o.limits, o.clock.now());
    if (!d.ok) return refuse(d);
    span.setAttribute("shoal.device.id", t.deviceId);
    span.setAttribute("shoal.readings", d.readings.length);
    const token: AckToken = { left: d.readings.length, msg: done };
    for (const r of d.readings) order.offer({ ...r, trace: span.traceparent }, token);
  }

  function reject(rej: Rejection, topic: string, payload: Uint8Array, msg: Ackable): void {
    counts.rejected++;
    counts.rejectedByCode[rej.code] = (counts.rejectedByCode[rej.code] ?? 0) + 1;
    deadLettering++;
    deadLetter({ stage: "bridge", code: rej.code, reason: rej.reason, source: topic, payload }).then(
      () => {
        deadLettering--;
        msg.ack();
        wake();
      },
      () => {
        deadLettering--;
        counts.deadLetterFailures++;
        wake();
      },
    );
  }

  return {
    stats,
    handle,
    /** Readings accepted and not yet durable (plus dead letters in flight). */
    held,
    /** Whether the MQTT side should take more messages now. */
    admitted,
    /** Resolves once `admitted()` is true again. */
    whenAdmitted: (): Promise<void> => (admitted() ? Promise.resolve() : new Promise((r) => waiters.push(r))),
    /** Publish what is batched now and resolve once nothing is held. */
    async drain(): Promise<void> {
      order.flush();
      await batcher.idle();
      while (deadLettering > 0) await new Promise<void>((r) => waiters.push(r));
    },
    /** Release every waiter (closing). */
    release(): void {
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    },
  };
}

export type BridgeCore = ReturnType<typeof createBridgeCore>;
