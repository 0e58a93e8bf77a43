import { defaultReadingLimits, type ReadingLimits } from "../../../src/domain/reading-codec.js";

/**
 * The settings the ingest fuzzers run the codec with. The bridge's clock is fixed (the codec is
 * pure: the same input always gives the same answer), and two limit profiles are used: the
 * production defaults with the default time window, and a tight one (small batches, few metrics,
 * short logs, small payloads, no window) so inputs reach every limit without being huge.
 */
/** The bridge's clock in every fuzz run. */
export const NOW_MS = Date.parse("2026-12-04T12:00:00.000Z");
const DAY_MS = 86_400_000;
/** The default time window: 5 minutes ahead (bridge.maxClockSkew) … */
export const SKEW_MS = 5 * 60_000;
/** … and 30 days back (clickhouse.retention.readings). */
export const AGE_MS = 30 * DAY_MS;

/** One limit profile: the limits and the clock the codec is called with (undefined: no window). */
export interface Profile {
  readonly name: string;
  readonly limits: ReadingLimits;
  readonly nowMs: number | undefined;
}

/** The two limit profiles: an input's `profile` is an index here. */
export const PROFILES: readonly Profile[] = [
  { name: "defaults", limits: { ...defaultReadingLimits, maxClockSkewMs: SKEW_MS, maxAgeMs: AGE_MS }, nowMs: NOW_MS },
  { name: "tight", limits: { maxPayloadBytes: 600, maxMetrics: 4, maxLogLength: 16, maxBatchReadings: 3 }, nowMs: undefined },
];

/** What a generator produced: the MQTT topic, the payload, and which profile to check it with. */
export interface IngestInput {
  readonly topic: string;
  readonly payload: Uint8Array;
  /** Index in {@link PROFILES}. */
  readonly profile: number;
  /** The device whose broker ACL is checked against the topic (default: the device the topic names). */
  readonly aclDevice?: string;
  /**
   * Set for a device's reply to a command (topic `devices/<id>/commands/reply`, read by the
   * bridge's downlink, src/commands/reply.ts), not a reading: the MQTT 5 correlation data, or
   * null when the reply carries none.
   */
  readonly reply?: { readonly correlation: string | null };
}
