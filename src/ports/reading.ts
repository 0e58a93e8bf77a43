/**
 * A validated sensor reading (the domain form of shoal.v1.Reading).
 * Invariants (enforced by the bridge's decoder): deviceId matches /^[A-Za-z0-9_.:-]{1,128}$/ minus
 * '.', seq a non-negative safe integer (0: none), boot (when present) too, tsMs a non-negative safe integer, every metric finite.
 */
export interface Reading {
  readonly deviceId: string;
  /**
   * Device-local sequence number (docs/sequence-model.md): increasing per device from any start,
   * restarting after a reboot, possibly wrapping. 0: the device sends no counter.
   */
  readonly seq: number;
  /** Measurement time, ms since the Unix epoch. */
  readonly tsMs: number;
  /** Named metric values. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Optional device log line. */
  readonly log?: string;
  /** Optional boot/session number of the device: a new value starts a new epoch. */
  readonly boot?: number;
  /**
   * W3C `traceparent` of the bridge's span for this reading when its trace is sampled (set by the
   * bridge only, carried in the journal record; docs/adr/0023-tracing.md).
   */
  readonly trace?: string;
}
