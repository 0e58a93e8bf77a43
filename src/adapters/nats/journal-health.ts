import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { ConsumerFacts, JournalFacts, JournalProbe, JournalRepair, StreamFacts } from "../../ports/journal-health.js";
import { partitionConsumerName } from "../../domain/subjects.js";
import { forEachBounded } from "../../base/concurrency.js";
import { DLQ_STREAM, ensureJournal, isNotFound, type JournalOptions } from "./streams.js";
import { KvSnapshotStore, type KvSnapshotStoreOptions } from "./kv-snapshot-store.js";

/** What a role's journal consists of. */
export interface JournalHealthOptions {
  /** Readings stream name. */
  readonly stream: string;
  /** Snapshot bucket (the runtime's); none for the bridge. */
  readonly bucket?: string;
  /** More streams the role depends on (the runtime's row log), watched like SHOAL_DLQ. */
  readonly extraStreams?: readonly string[];
}

/**
 * {@link JournalProbe} on JetStream: `streams.info` of the readings stream, SHOAL_DLQ and the
 * bucket's stream `KV_<bucket>`, and `consumers.info` of the partitions asked for (16 requests in
 * flight). "not found" is a fact (missing); any other failure rejects the round (server down).
 */
export function createNatsJournalProbe(nc: NatsConnection, o: JournalHealthOptions): JournalProbe {
  let jsm: JetStreamManager | undefined;
  return {
    async facts(partitions): Promise<JournalFacts> {
      jsm ??= await jetstreamManager(nc);
      const m = jsm;
      const names: Array<[string, StreamFacts["kind"]]> = [[o.stream, "stream"], [DLQ_STREAM, "stream"]];
      if (o.bucket !== undefined) names.push([`KV_${o.bucket}`, "bucket"]);
      for (const name of o.extraStreams ?? []) names.push([name, "stream"]);
      // Consumers first: read after them, the stream's last sequence is at least what any of them
      // was delivered, so "a consumer beyond the stream's end" never comes from the reads' order.
      const consumers: ConsumerFacts[] = [];
      await forEachBounded(partitions, 16, async (p) => {
        consumers.push(await consumerFacts(m, o.stream, p));
      });
      consumers.sort((a, b) => a.partition - b.partition);
      const streams = await Promise.all(names.map(([name, kind]) => streamFacts(m, name, kind)));
      return { streams, consumers: streams[0]!.exists ? consumers : [] };
    },
  };
}

/**
 * {@link JournalRepair}: the same calls a role makes at start — `ensureJournal` (streams and every
 * partition consumer, created when missing, updated only when their settings differ) and, for the
 * runtime, the snapshot bucket (created when missing, never rewritten).
 */
export function createNatsJournalRepair(nc: NatsConnection, journal: JournalOptions, bucket?: KvSnapshotStoreOptions, extra?: () => Promise<void>): JournalRepair {
  return {
    async repair() {
      await ensureJournal(nc, journal);
      if (bucket !== undefined) await KvSnapshotStore.create(nc, bucket);
      await extra?.();
    },
  };
}

async function streamFacts(jsm: JetStreamManager, name: string, kind: StreamFacts["kind"]): Promise<StreamFacts> {
  try {
    const info = await jsm.streams.info(name);
    return { name, kind, exists: true, lastSeq: info.state.last_seq, messages: info.state.messages, created: info.created };
  } catch (e) {
    if (!isNotFound(e)) throw e;
    return { name, kind, exists: false, lastSeq: 0, messages: 0 };
  }
}

async function consumerFacts(jsm: JetStreamManager, stream: string, partition: number): Promise<ConsumerFacts> {
  try {
    const info = await jsm.consumers.info(stream, partitionConsumerName(partition));
    return { partition, exists: true, deliveredSeq: info.delivered.stream_seq, ackFloor: info.ack_floor.stream_seq, unprocessed: info.num_pending + info.num_ack_pending, ackPending: info.num_ack_pending };
  } catch (e) {
    if (!isNotFound(e)) throw e;
    return { partition, exists: false, deliveredSeq: 0, ackFloor: 0, unprocessed: 0 };
  }
}
