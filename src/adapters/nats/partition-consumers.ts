import type { NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { ConsumerPosition, PartitionConsumers, PartitionSource } from "../../ports/journal.js";
import { partitionConsumerName } from "../../domain/subjects.js";
import { rewindPartitionConsumer, type JournalOptions } from "./streams.js";
import { JetStreamPartitionSource } from "./partition-source.js";

/** The journal's durable per-partition consumers on JetStream (see `ensureJournal`). */
export class JetStreamPartitionConsumers implements PartitionConsumers {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly o: Pick<JournalOptions, "stream" | "maxAckPending" | "ackWaitMs">,
  ) {}

  static async create(nc: NatsConnection, o: Pick<JournalOptions, "stream" | "maxAckPending" | "ackWaitMs">): Promise<JetStreamPartitionConsumers> {
    return new JetStreamPartitionConsumers(nc, await jetstreamManager(nc), o);
  }

  async position(partition: number): Promise<ConsumerPosition> {
    const info = await this.jsm.consumers.info(this.o.stream, partitionConsumerName(partition));
    return { ackPending: info.num_ack_pending, ackFloor: info.ack_floor.stream_seq };
  }

  rewind(partition: number, ackFloor: number): Promise<void> {
    return rewindPartitionConsumer(this.jsm, this.o, partition, ackFloor);
  }

  open(partition: number, maxMessages: number): Promise<PartitionSource> {
    return JetStreamPartitionSource.create(this.nc, this.o.stream, partition, maxMessages);
  }
}
