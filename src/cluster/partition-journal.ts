/** Position of one partition's durable consumer in the journal. */
export interface PartitionLag {
  readonly partition: number;
  /** Messages not yet delivered to any puller. */
  readonly pending: number;
  /** Messages delivered but not yet acknowledged. */
  readonly ackPending: number;
  /** Stream sequence of the last contiguously acknowledged message. */
  readonly ackFloor: number;
}

/** The journal operations the lease manager needs around a handoff (a small port). */
export interface PartitionJournal {
  /** Lag of partition `p`'s durable consumer. */
  lag(p: number): Promise<PartitionLag>;
  /**
   * Makes the durable consumer of `p` redeliver, in order and now, everything above its ack floor
   * that a previous owner had pulled but not acknowledged (buffered in a dying client, or in a
   * killed process). Without this those messages come back only after the consumer's ack wait,
   * behind newer ones. Resolves with how many were rewound (0 = nothing was outstanding).
   * Only the lease holder may call it.
   */
  rewind(p: number): Promise<number>;
}
