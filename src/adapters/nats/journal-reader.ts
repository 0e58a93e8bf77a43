import { DeliverPolicy, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Envelope } from "../../ports/actor-host.js";
import type { JournalReader } from "../../ports/journal-reader.js";
import { partitionFilter } from "../../domain/subjects.js";

/**
 * JournalReader on an ordered JetStream consumer filtered to one partition, starting at a stream
 * sequence. Used by recovery: replays [fromSeq, toSeq] in stream order. Messages that do not decode
 * are skipped here (the ingest loop dead-lettered them when they were first delivered).
 */
export function createJournalReader(nc: NatsConnection, stream: string, toEnvelope: (data: Uint8Array, streamSeq: number, partition: number) => Envelope): JournalReader {
  const js = jetstream(nc);
  return {
    async *read(partition, fromSeq, toSeq) {
      if (toSeq < fromSeq) return;
      const consumer = await js.consumers.get(stream, {
        // A single filter string (nats-server 2.9 has no multi-filter consumers).
        filter_subjects: partitionFilter(partition),
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: Math.max(1, fromSeq),
      });
      try {
        for (;;) {
          const batch: Envelope[] = [];
          let done = false;
          const it = await consumer.fetch({ max_messages: 1000, expires: 2000 });
          for await (const m of it) {
            if (m.seq > toSeq) {
              done = true;
              break;
            }
            try {
              batch.push(toEnvelope(m.data, m.seq, partition));
            } catch {
              // corrupt message: was dead-lettered on first delivery
            }
            if (m.seq >= toSeq || m.info.pending === 0) {
              done = true;
              break;
            }
          }
          if (batch.length > 0) yield batch;
          if (done || batch.length === 0) return;
        }
      } finally {
        await consumer.delete().catch(() => {});
      }
    },
  };
}
