import type { Envelope } from "./actor-host.js";

/**
 * Read access to the journal (the JetStream stream) for recovery. The adapter decodes journal
 * messages into envelopes exactly like the ingest loop does (one journal message may yield several
 * envelopes, all carrying its stream sequence).
 */
export interface JournalReader {
  /**
   * Envelopes of `partition` whose stream sequence is in `[fromSeq, toSeq]`, in stream order,
   * in batches (one per fetch). Ends after `toSeq` or at the end of the stream.
   */
  read(partition: number, fromSeq: number, toSeq: number): AsyncIterable<readonly Envelope[]>;
}
