import type { Reading } from "../ports/reading.js";
import { decodeReading, deviceIdFromTopic, encodeReading, type ReadingLimits, type Rejection } from "../domain/reading-codec.js";
import { partitionOf } from "../domain/partition.js";
import { readingSubject } from "../domain/subjects.js";
import type { EventPublisher } from "../ports/journal.js";

/** Publishes a journal message; resolves on the PubAck. */
export type JournalPublish = (subject: string, data: Uint8Array, msgId: string) => Promise<{ seq: number; duplicate: boolean }>;

/** Counters of the bridge (exported as metrics by the composition root). */
export interface BridgeStats {
  received: number;
  accepted: number;
  duplicate: number;
  rejected: number;
  rejectedByCode: Record<string, number>;
  /** Publishes that failed permanently (message left unacked for redelivery). */
  publishFailures: number;
}

export interface BridgeCoreOptions {
  readonly partitions: number;
  readonly limits: ReadingLimits;
}

/**
 * The transport-independent heart of the bridge: validate an MQTT message, publish it to the journal
 * (`shoal.readings.<partition>.<deviceId>`, Nats-Msg-Id `<deviceId>:<seq>`) or dead-letter it, and
 * ack the MQTT message only after the PubAck (or the dead letter's PubAck). Never throws.
 */
export function createBridgeCore(o: BridgeCoreOptions, publish: JournalPublish, deadLetter: EventPublisher["deadLetter"]) {
  const stats: BridgeStats = { received: 0, accepted: 0, duplicate: 0, rejected: 0, rejectedByCode: {}, publishFailures: 0 };

  async function handle(topic: string, payload: Uint8Array, ack: () => void): Promise<void> {
    stats.received++;
    const t = deviceIdFromTopic(topic);
    if (!t.ok) return reject(t, topic, payload, ack);
    const d = decodeReading(payload, t.deviceId, o.limits);
    if (!d.ok) return reject(d, topic, payload, ack);
    const r: Reading = d.reading;
    try {
      const res = await publish(readingSubject(partitionOf(r.deviceId, o.partitions), r.deviceId), encodeReading(r), `${r.deviceId}:${r.seq}`);
      if (res.duplicate) stats.duplicate++;
      else stats.accepted++;
      ack();
    } catch {
      // Not acked: the broker redelivers it (same Nats-Msg-Id, so no duplicate in the journal).
      stats.publishFailures++;
    }
  }

  async function reject(rej: Rejection, topic: string, payload: Uint8Array, ack: () => void): Promise<void> {
    stats.rejected++;
    stats.rejectedByCode[rej.code] = (stats.rejectedByCode[rej.code] ?? 0) + 1;
    try {
      await deadLetter({ stage: "bridge", code: rej.code, reason: rej.reason, source: topic, payload });
      ack();
    } catch {
      stats.publishFailures++;
    }
  }

  return { stats, handle };
}

export type BridgeCore = ReturnType<typeof createBridgeCore>;
