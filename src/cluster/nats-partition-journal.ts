import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { rewindPartitionConsumer } from "../adapters/nats/streams.js";
import type { NatsConnection } from "@nats-io/transport-node";
import { partitionConsumerName } from "../domain/subjects.js";
import type { PartitionJournal } from "./partition-journal.js";

/**
 * {@link PartitionJournal} on the durable JetStream pull consumers `shoal-pNNN` of the readings
 * stream. `rewind` deletes and re-creates the consumer starting right after its ack floor (NATS
 * 2.9/2.10 have no consumer reset; the lease guarantees nobody else pulls it meanwhile).
 * (Lives here rather than in src/adapters/nats/ only because that folder belongs to another
 * work stream; it is the NATS adapter of the cluster port.)
 */
export async function createNatsPartitionJournal(nc: NatsConnection, stream: string): Promise<PartitionJournal> {
  const jsm: JetStreamManager = await jetstreamManager(nc);
  return {
    async lag(p) {
      const info = await jsm.consumers.info(stream, partitionConsumerName(p));
      return { partition: p, pending: info.num_pending, ackPending: info.num_ack_pending, ackFloor: info.ack_floor.stream_seq };
    },
    async rewind(p) {
      const name = partitionConsumerName(p);
      const info = await jsm.consumers.info(stream, name);
      if (info.num_ack_pending === 0) return 0;
      // The one consumer-rewind implementation, shared with the runtime role's acquire.
      await rewindPartitionConsumer(jsm, { stream, maxAckPending: info.config.max_ack_pending ?? 20_000, ackWaitMs: Math.round((info.config.ack_wait ?? 60e9) / 1e6) }, p, info.ack_floor.stream_seq);
      return info.num_ack_pending;
    },
  };
}
