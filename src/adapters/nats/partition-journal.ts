import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { rewindPartitionConsumer } from "./streams.js";
import type { NatsConnection } from "@nats-io/transport-node";
import { partitionConsumerName } from "../../domain/subjects.js";
import type { PartitionJournal } from "../../ports/partition-journal.js";

/** `rewind` result when the partition's consumer was missing and was re-created from the journal's start. */
export const CONSUMER_RECREATED = -1;

/**
 * {@link PartitionJournal} on the durable JetStream pull consumers `shoal-pNNN` of the readings
 * stream. `rewind` does not move an existing consumer: the owner's acquire (the runtime role) rewinds
 * it to its ack floor itself, and it needs that floor to know how far to replay the journal into the
 * actors; a re-created consumer reports an ack floor of 0 until its first ack, so rewinding here
 * first made the runtime replay nothing after a SIGKILLed owner (actors resumed from older snapshots
 * and missed what the dead owner had acked since). `rewind` only re-creates a missing consumer.
 */
export async function createNatsPartitionJournal(nc: NatsConnection, stream: string): Promise<PartitionJournal> {
  const jsm: JetStreamManager = await jetstreamManager(nc);
  return {
    async lag(p) {
      const info = await jsm.consumers.info(stream, partitionConsumerName(p));
      return { partition: p, pending: info.num_pending, ackPending: info.num_ack_pending, ackFloor: info.ack_floor.stream_seq };
    },
    async rewind(p) {
      const info = await jsm.consumers.info(stream, partitionConsumerName(p)).catch((e: unknown) => {
        if (/not found/i.test((e as Error).message)) return undefined;
        throw e;
      });
      if (info !== undefined) return info.num_ack_pending;
      // A previous owner died between deleting and re-creating the consumer in its own rewind: its
      // ack floor is gone with it. Start again from the beginning of the journal (nothing is lost;
      // devices drop what they already applied by device sequence, rows are idempotent) instead of
      // failing every acquire of the partition forever.
      await rewindPartitionConsumer(jsm, { stream, maxAckPending: 20_000 }, p, 0);
      return CONSUMER_RECREATED;
    },
  };
}
