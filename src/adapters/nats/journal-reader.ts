import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import type { Envelope, JournalDecoder } from "../../ports/actor-host.js";
import type { JournalReader } from "../../ports/journal-reader.js";
import { partitionFilter } from "../../domain/subjects.js";

/** Messages asked for per fetch while replaying. */
const FETCH = 1000;

/**
 * JournalReader on an ephemeral JetStream pull consumer filtered to one partition, starting at a
 * stream sequence. Used by recovery: replays [fromSeq, toSeq] in stream order. Messages that do
 * not decode are skipped here (the ingest loop dead-lettered them when they were first delivered).
 *
 * The consumer's `num_pending` at creation says how many messages of the partition follow
 * `fromSeq`, so every fetch asks for exactly what is there and returns as soon as it arrived. A
 * fetch asking for more than exists waits out its expiry: `toSeq` (a durable consumer's ack floor)
 * may lie beyond the partition's last message — a filtered consumer's floor follows the whole
 * stream — so waiting for messages up to it cost one full expiry per partition (2 s each, 64
 * partitions in a row on a restart).
 */
export function createJournalReader(nc: NatsConnection, stream: string, decode: JournalDecoder): JournalReader {
  const js = jetstream(nc);
  return {
    async *read(partition, fromSeq, toSeq) {
      if (toSeq < fromSeq) return;
      const jsm = await jetstreamManager(nc);
      // The next stream seq to read; a failed fetch (e.g. "heartbeats missed" while this thread was
      // starved of CPU) resumes from there on a new consumer, a bounded number of times.
      let next = Math.max(1, fromSeq);
      for (let attempt = 1; ; attempt++) {
        const info = await jsm.consumers.add(stream, {
          // A single filter string (nats-server 2.9 has no multi-filter consumers).
          filter_subject: partitionFilter(partition),
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: next,
          ack_policy: AckPolicy.None,
          mem_storage: true,
          inactive_threshold: nanos(30_000),
        });
        let remaining = info.num_pending;
        try {
          // From the info just returned: no second round trip for it.
          const consumer = js.consumers.getConsumerFromInfo(info);
          while (remaining > 0) {
            const batch: Envelope[] = [];
            let done = false;
            let got = 0;
            let it;
            try {
              it = await consumer.fetch({ max_messages: Math.min(FETCH, remaining), expires: 10_000 });
              for await (const m of it) {
                got++;
                remaining--;
                if (m.seq > toSeq) {
                  done = true;
                  break;
                }
                try {
                  const seq = m.seq;
                  const before = batch.length;
                  try {
                    decode(m.data, seq, partition, 0, m.data.length, (actorType, actorId, msg) => batch.push({ actorType, actorId, partition, streamSeq: seq, msg }));
                  } catch (err) {
                    batch.length = before;
                    throw err;
                  }
                } catch {
                  // corrupt message: was dead-lettered on first delivery
                }
                next = m.seq + 1;
                if (m.seq >= toSeq) {
                  done = true;
                  break;
                }
              }
            } catch (err) {
              // What arrived before the failure is replayed; the rest on a new consumer.
              if (batch.length > 0) yield batch;
              if (attempt >= MAX_ATTEMPTS) throw err;
              break;
            }
            if (batch.length > 0) yield batch;
            // Nothing came although messages were counted (the stream was purged meanwhile): stop.
            if (done || got === 0) return;
          }
          if (remaining <= 0) return;
        } finally {
          // Not waited for (a restart replays many partitions at once; the delete is only tidying):
          // a consumer whose delete fails goes by itself after its inactive threshold.
          void jsm.consumers.delete(stream, info.name).catch(() => {});
        }
      }
    },
  };
}

/** Consumers a replay may need before it gives up (each resumes where the previous one failed). */
const MAX_ATTEMPTS = 5;
