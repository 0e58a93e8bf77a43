import type { Envelope } from "../ports/actor-host.js";
import { decodeJournalReading } from "../domain/reading-codec.js";

/**
 * The envelope of one journal message: a `reading` for the device actor of its device. Shared by
 * the ingest loop and journal replay (recovery), so both decode exactly alike. Throws on corrupt bytes.
 */
export function journalEnvelope(data: Uint8Array, streamSeq: number, partition: number, start = 0, end = data.length): Envelope {
  const reading = decodeJournalReading(data, start, end);
  const msg = { type: "reading", reading, streamSeq };
  return { actorType: "device", actorId: reading.deviceId, partition, streamSeq, msg };
}
