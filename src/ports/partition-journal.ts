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
   * Called by the lease holder just before the owner's acquire. Resolves with how many messages a
   * previous owner left delivered but unacknowledged (buffered in a closed client, or in a killed
   * process): the owner's acquire rewinds the consumer to its ack floor so they come back at once and
   * in order (the floor must still be readable then: it bounds the recovery replay). Re-creates a
   * consumer that is missing (a previous owner was killed in the middle of its own rewind) from the
   * start of the journal, resolving with -1.
   */
  rewind(p: number): Promise<number>;
}
