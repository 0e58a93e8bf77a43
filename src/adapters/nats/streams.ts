import { AckPolicy, DeliverPolicy, DiscardPolicy, jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import { partitionConsumerName, partitionFilter, READINGS_PREFIX } from "../../domain/subjects.js";
import { forEachBounded } from "../../base/concurrency.js";
import { errorMessage, ShoalError } from "../../base/errors.js";
import { retryOnTimeout } from "./admin-retry.js";

/** Journal layout options. */
export interface JournalOptions {
  /** Readings stream name. Default READINGS. */
  readonly stream: string;
  /** Partition count P (fixed per cluster). */
  readonly partitions: number;
  /** JetStream duplicate window for Nats-Msg-Id, ms. */
  readonly duplicateWindowMs: number;
  /** Retention of the journal, ms. */
  readonly maxAgeMs: number;
  /** Consumer ack wait, ms (a batch must be durable within it or it is redelivered). Default 60000. */
  readonly ackWaitMs?: number;
  /** Max unacknowledged messages per partition consumer. */
  readonly maxAckPending: number;
  /**
   * Copies of every stream of the journal (`nats.replicas`: 1, or 3/5 on a JetStream cluster).
   * Every stream created here takes it, so one setting decides what survives the loss of a node.
   */
  readonly replicas: number;
}

/** Stream capturing shoal.dlq.> so dead letters are durable and inspectable. */
export const DLQ_STREAM = "SHOAL_DLQ";

/** The readings stream's description: it records the partition count its devices were spread over. */
export function journalDescription(partitions: number): string {
  return `Shoal readings journal: ${partitions} partitions (nats.partitions, fixed per journal)`;
}

/**
 * The partition count an existing readings stream was written with: from its description, or, for
 * a journal from before the description, at least one more than its highest partition consumer
 * (`undefined`: nothing says).
 */
async function journalPartitions(jsm: JetStreamManager, stream: string, partitions: number): Promise<{ partitions: number; atLeast: boolean } | undefined> {
  let description: string | undefined;
  try {
    description = (await jsm.streams.info(stream)).config.description;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  const recorded = /: (\d+) partitions/.exec(description ?? "")?.[1];
  if (recorded !== undefined) return { partitions: Number(recorded), atLeast: false };
  let highest = -1;
  for await (const c of jsm.consumers.list(stream)) {
    const p = /^shoal-p(\d+)$/.exec(c.name)?.[1];
    if (p !== undefined) highest = Math.max(highest, Number(p));
  }
  return highest >= partitions ? { partitions: highest + 1, atLeast: true } : undefined;
}

/**
 * The partition count the readings stream `stream` was written with: recorded in its description,
 * or for a journal from before the record, one more than its highest partition consumer.
 * `undefined`: no such stream, or nothing in it says.
 */
export async function readJournalPartitions(nc: NatsConnection, stream: string): Promise<number | undefined> {
  const jsm = await retryOnTimeout(() => jetstreamManager(nc));
  return (await retryOnTimeout(() => journalPartitions(jsm, stream, 0)))?.partitions;
}

/**
 * Create (or update) the readings stream, the DLQ stream and one durable pull consumer per
 * partition. A stream whose settings already match is left alone; one with another replica count
 * is updated in place (JetStream adds or removes copies; the consumers follow their stream).
 *
 * A journal written with another partition count is refused: its devices' readings are in other
 * partitions than this count puts them, so their actors would start without their history and take
 * old readings for new ones (docs/adr/0009, "Partitions").
 */
export async function ensureJournal(nc: NatsConnection, o: JournalOptions): Promise<JetStreamManager> {
  // The first JetStream request of a role: a cluster still electing its meta leader times it out for a while.
  const jsm = await retryOnTimeout(() => jetstreamManager(nc));
  const written = await retryOnTimeout(() => journalPartitions(jsm, o.stream, o.partitions));
  if (written !== undefined && written.partitions !== o.partitions) {
    throw new ShoalError(
      `the journal (stream ${o.stream}) was written with ${written.atLeast ? "at least " : ""}${written.partitions} partitions, ` +
        `this configuration has nats.partitions ${o.partitions}: set nats.partitions to ${written.partitions} (SHOAL__NATS__PARTITIONS=${written.partitions}), ` +
        `or start on an empty journal (local stack: npm run stack -- down --purge nats)`,
      { code: "config" },
    );
  }
  await upsertStream(jsm, {
    name: o.stream,
    description: journalDescription(o.partitions),
    subjects: [`${READINGS_PREFIX}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(o.duplicateWindowMs),
    max_age: nanos(o.maxAgeMs),
    num_replicas: o.replicas,
  });
  await upsertStream(jsm, {
    name: DLQ_STREAM,
    subjects: ["shoal.dlq.>"],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    max_age: nanos(30 * 24 * 3600_000),
    num_replicas: o.replicas,
  });
  await forEachBounded(Array.from({ length: o.partitions }, (_, p) => p), 16, (p) => ensurePartitionConsumer(jsm, o, p));
  return jsm;
}

/** Durable pull consumer of one partition, explicit acks (see JetStreamPartitionSource); asked again while JetStream times out. */
export async function ensurePartitionConsumer(jsm: JetStreamManager, o: JournalOptions, partition: number): Promise<void> {
  await retryOnTimeout(() => ensurePartitionConsumerOnce(jsm, o, partition));
}

async function ensurePartitionConsumerOnce(jsm: JetStreamManager, o: JournalOptions, partition: number): Promise<void> {
  const name = partitionConsumerName(partition);
  const cfg = {
    durable_name: name,
    filter_subject: partitionFilter(partition),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(o.ackWaitMs ?? 60_000),
    max_ack_pending: o.maxAckPending,
    max_deliver: -1,
  };
  try {
    const info = await jsm.consumers.info(o.stream, name);
    // Updated only when it differs: every start of every role would otherwise rewrite it.
    if (info.config.ack_wait !== cfg.ack_wait || info.config.max_ack_pending !== cfg.max_ack_pending) {
      await jsm.consumers.update(o.stream, name, { ack_wait: cfg.ack_wait, max_ack_pending: cfg.max_ack_pending });
    }
  } catch (e) {
    if (!isNotFound(e)) throw e;
    await jsm.consumers.add(o.stream, cfg);
  }
}

/**
 * Recreate a partition's consumer so delivery restarts right after `ackFloor`. Used when a new
 * owner finds messages delivered to a dead owner and never acknowledged: instead of waiting for
 * ack_wait to expire (and getting them back behind newer messages), it gets them again at once and
 * in stream order. Messages above the floor that were already acked come again too; the device
 * actors drop them by device sequence number.
 */
export async function rewindPartitionConsumer(
  jsm: JetStreamManager,
  o: Pick<JournalOptions, "stream" | "maxAckPending" | "ackWaitMs">,
  partition: number,
  ackFloor: number,
): Promise<void> {
  const name = partitionConsumerName(partition);
  await jsm.consumers.delete(o.stream, name).catch((e: unknown) => {
    if (!isNotFound(e)) throw e;
  });
  await jsm.consumers.add(o.stream, {
    durable_name: name,
    filter_subject: partitionFilter(partition),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: ackFloor + 1,
    ack_wait: nanos(o.ackWaitMs ?? 60_000),
    max_ack_pending: o.maxAckPending,
    max_deliver: -1,
  });
}

type StreamCfg = Parameters<JetStreamManager["streams"]["add"]>[0];

async function upsertStream(jsm: JetStreamManager, cfg: StreamCfg & { name: string }): Promise<void> {
  await retryOnTimeout(() => upsertStreamOnce(jsm, cfg));
}

async function upsertStreamOnce(jsm: JetStreamManager, cfg: StreamCfg & { name: string }): Promise<void> {
  try {
    const info = await jsm.streams.info(cfg.name);
    // Updated only when a setting we own differs (an update rewrites the stream's metadata on disk).
    const have = info.config as unknown as Record<string, unknown>;
    const differs = Object.entries(cfg).some(([k, v]) => JSON.stringify(have[k]) !== JSON.stringify(v));
    if (differs) await jsm.streams.update(cfg.name, cfg);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    await jsm.streams.add(cfg);
  }
}

/** JetStream's "stream/consumer not found" (the client has no error class for it). */
export function isNotFound(e: unknown): boolean {
  return /not found/i.test(errorMessage(e));
}

/** Create a stream, or update it only when a setting given here differs (see upsertStream). */
export async function ensureStream(jsm: JetStreamManager, cfg: StreamCfg & { name: string }): Promise<void> {
  await upsertStream(jsm, cfg);
}
