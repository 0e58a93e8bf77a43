import { connectNats } from "../../src/adapters/nats/connection.js";
import { createJournalReader } from "../../src/adapters/nats/journal-reader.js";
import { journalEnvelope } from "../../src/domain/journal-envelopes.js";
import { partitionOf } from "../../src/domain/partition.js";
import type { Reading } from "../../src/ports/reading.js";

/** A reading as it stands in the journal, with the stream sequence of its journal message. */
export interface JournalSighting {
  readonly streamSeq: number;
  readonly reading: Reading;
}

/**
 * Every reading of `ids` in journal stream `stream`, in the order their actors get them (the stream
 * order of their partitions), duplicates and all: read back as recovery reads it.
 */
export async function journalReadings(natsUrl: string, stream: string, partitions: number, ids: readonly string[]): Promise<Map<string, JournalSighting[]>> {
  const out = new Map<string, JournalSighting[]>(ids.map((id) => [id, []]));
  const nc = await connectNats(natsUrl, `test-journal-readings-${process.pid}`);
  try {
    const reader = createJournalReader(nc, stream, journalEnvelope);
    for (const p of new Set(ids.map((id) => partitionOf(id, partitions)))) {
      for await (const batch of reader.read(p, 1, Number.MAX_SAFE_INTEGER)) {
        for (const e of batch) {
          const list = out.get(e.actorId);
          if (list === undefined) continue;
          const m = e.msg as { type: string; reading?: Reading; readings?: readonly Reading[] };
          if (m.type === "reading") list.push({ streamSeq: e.streamSeq, reading: m.reading! });
          else if (m.type === "readings") for (const reading of m.readings!) list.push({ streamSeq: e.streamSeq, reading });
        }
      }
    }
  } finally {
    await nc.drain().catch(() => undefined);
  }
  return out;
}
