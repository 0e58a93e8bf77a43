/**
 * A validated sensor reading (the domain form of shoal.v1.Reading).
 * Invariants (enforced by the bridge's decoder): deviceId matches /^[A-Za-z0-9_.:-]{1,128}$/ minus
 * '.', seq is a positive safe integer, tsMs a non-negative safe integer, every metric finite.
 */
export interface Reading {
  readonly deviceId: string;
  /** Device-local sequence number, strictly increasing per device, from 1. */
  readonly seq: number;
  /** Measurement time, ms since the Unix epoch. */
  readonly tsMs: number;
  /** Named metric values. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Optional device log line. */
  readonly log?: string;
}
