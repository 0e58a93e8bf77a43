import type { Incident } from "../ports/incidents.js";
import type { JournalFacts, StreamFacts } from "../ports/journal-health.js";

/** What the watchdog remembers of the journal between rounds (mutated by {@link assessJournal}). */
export interface JournalMemory {
  /** Last facts of each stream that existed. */
  readonly streams: Map<string, { lastSeq: number; messages: number; created?: string }>;
  /** Last position of each tracked partition's consumer that existed. */
  readonly consumers: Map<number, ConsumerMemory>;
  /** Streams ("s:<name>") and consumers ("c:<p>") seen missing and not seen back yet: reported once. */
  readonly missing: Set<string>;
  /** True while a publish stall is reported and not yet over. */
  stalled: boolean;
}

/** What the watchdog remembers of one partition's consumer. */
interface ConsumerMemory {
  readonly ackFloor: number;
  readonly unprocessed: number;
  readonly deliveredSeq: number;
  /** Rounds it delivered past a standing ack floor (see STUCK_ROUNDS). */
  readonly stuckRounds: number;
  /** Rounds its last delivery has stood unreceived by this role (see TAIL_ROUNDS). */
  readonly tailRounds: number;
  /** Deliveries its source had seen skipped (gaps in the delivery sequence) at the last round. */
  readonly skipped: number;
  /** Messages this role had acknowledged on the partition at the last round (undefined: cannot tell). */
  readonly acked: number | undefined;
}

/** What one round found. */
export interface Assessment {
  readonly incidents: Incident[];
  /** Something is missing: re-create it. */
  readonly repair: boolean;
  /** Partitions whose consumer must restart, each after the stream sequence given (0 = from the start). */
  readonly resets: Map<number, number>;
  /** The readings stream was lost or re-created: its sequences start again. */
  readonly streamReset: boolean;
}

/** Publishes awaiting their acknowledgement from the journal. */
export interface PublishBacklog {
  readonly pending: number;
  /** Age of the oldest one, ms (0 when none). */
  readonly oldestAgeMs: number;
}

export function newJournalMemory(): JournalMemory {
  return { streams: new Map(), consumers: new Map(), missing: new Set(), stalled: false };
}

/**
 * Compare one round's facts with what was seen before. Pure but for `mem`, so the rules are tested
 * without a server. A stream that vanished, came back with another creation time or with a lower
 * last sequence lost its messages; a consumer that vanished, or stands beyond its stream's end, would
 * deliver nothing (or skip what arrives until the stream passes its old position). Each is reported
 * once, when first seen; what is missing is asked to be repaired every round until it is back.
 */
export function assessJournal(
  mem: JournalMemory,
  facts: JournalFacts,
  tracked: readonly number[],
  received: ReadonlyMap<number, number> = new Map(),
  skipped: ReadonlyMap<number, number> = new Map(),
  acked: ReadonlyMap<number, number> = new Map(),
): Assessment {
  const out = { incidents: [] as Incident[], repair: false, resets: new Map<number, number>(), streamReset: false };
  const readings = facts.streams[0];
  for (const s of facts.streams) {
    const lost = s === readings ? streamLost(mem, s, out) : otherLost(mem, s, out);
    if (lost && s === readings) resetAll(mem, tracked, out);
  }
  if (readings === undefined || !readings.exists || out.streamReset) return out;
  assessConsumers(mem, facts, readings, tracked, received, skipped, acked, out);
  return out;
}

/** A publish with no answer for `stallAfterMs`: reported once per stall. */
export function assessPublishes(mem: JournalMemory, b: PublishBacklog, stallAfterMs: number): Incident | undefined {
  if (b.pending === 0 || b.oldestAgeMs < stallAfterMs) {
    mem.stalled = false;
    return undefined;
  }
  if (mem.stalled) return undefined;
  mem.stalled = true;
  return {
    kind: "journal.publish-stalled",
    message: `${b.pending} journal publishes have had no acknowledgement for ${Math.round(b.oldestAgeMs / 1000)} s; they are re-sent with the same message id and their devices get no PUBACK until the journal answers`,
    detail: { pendingPublishes: b.pending, oldestAgeMs: Math.round(b.oldestAgeMs) },
  };
}

type Out = { incidents: Incident[]; repair: boolean; resets: Map<number, number>; streamReset: boolean };

/** The readings (or dead-letter) stream: missing, or re-created / sequence gone backwards. True when its messages are gone. */
function streamLost(mem: JournalMemory, s: StreamFacts, out: Out): boolean {
  const prev = mem.streams.get(s.name);
  const key = `s:${s.name}`;
  if (!s.exists) {
    out.repair = true;
    mem.streams.delete(s.name);
    if (mem.missing.has(key)) return false;
    mem.missing.add(key);
    out.incidents.push({
      kind: "journal.stream-missing",
      message: `journal stream ${s.name} is missing (the journal server lost its store?)${prev ? `: ${prev.messages} messages up to sequence ${prev.lastSeq} are gone` : ""}; re-creating it and resuming`,
      detail: { stream: s.name, lastSeqBefore: prev?.lastSeq ?? null, messagesLost: prev?.messages ?? null },
    });
    return true;
  }
  mem.missing.delete(key);
  mem.streams.set(s.name, { lastSeq: s.lastSeq, messages: s.messages, ...(s.created ? { created: s.created } : {}) });
  if (prev === undefined) return false;
  const recreated = prev.created !== undefined && s.created !== undefined && prev.created !== s.created;
  if (!recreated && s.lastSeq >= prev.lastSeq) return false;
  out.incidents.push({
    kind: "journal.sequence-reset",
    message: `journal stream ${s.name} ${recreated ? "was re-created" : "went back"} from sequence ${prev.lastSeq} to ${s.lastSeq}: what it held before is gone; resuming on the new sequence`,
    detail: { stream: s.name, lastSeqBefore: prev.lastSeq, lastSeqAfter: s.lastSeq, messagesLost: recreated ? prev.messages : prev.lastSeq - s.lastSeq, createdBefore: prev.created ?? null, createdAfter: s.created ?? null },
  });
  return true;
}

/** The snapshot bucket: missing or re-created means every snapshot, checkpoint and kept timer in it is gone. */
function otherLost(mem: JournalMemory, s: StreamFacts, out: Out): boolean {
  if (s.kind === "stream") return streamLost(mem, s, out);
  const prev = mem.streams.get(s.name);
  const key = `s:${s.name}`;
  const recreated = s.exists && prev?.created !== undefined && s.created !== undefined && prev.created !== s.created;
  if (s.exists) {
    mem.missing.delete(key);
    mem.streams.set(s.name, { lastSeq: s.lastSeq, messages: s.messages, ...(s.created ? { created: s.created } : {}) });
    if (!recreated) return false;
  } else {
    out.repair = true;
    mem.streams.delete(s.name);
    if (mem.missing.has(key)) return false;
    mem.missing.add(key);
  }
  out.incidents.push({
    kind: "journal.bucket-missing",
    message: `snapshot bucket ${s.name} ${recreated ? "was re-created" : "is missing"}: ${prev ? `${prev.messages} values (actor snapshots, checkpoints, kept timers) are gone` : "its values are gone"}; actors not in memory restart from empty state; ${recreated ? "" : "re-creating it; "}running actors write theirs again`,
    detail: { bucket: s.name, valuesLost: prev?.messages ?? null },
  });
  return true;
}

/** Every tracked partition restarts from the new stream's start. */
function resetAll(mem: JournalMemory, tracked: readonly number[], out: Out): void {
  out.streamReset = true;
  let unprocessed = 0;
  for (const p of tracked) {
    unprocessed += mem.consumers.get(p)?.unprocessed ?? 0;
    out.resets.set(p, 0);
  }
  mem.consumers.clear();
  const last = out.incidents[out.incidents.length - 1];
  if (last !== undefined && tracked.length > 0) Object.assign(last, { detail: { ...last.detail, unprocessedLost: unprocessed, partitionsRestarted: tracked.length } });
}

function assessConsumers(mem: JournalMemory, facts: JournalFacts, readings: StreamFacts, tracked: readonly number[], received: ReadonlyMap<number, number>, skipped: ReadonlyMap<number, number>, acked: ReadonlyMap<number, number>, out: Out): void {
  const trackedSet = new Set(tracked);
  const missing: number[] = [];
  const beyond: number[] = [];
  const stuck: number[] = [];
  const rules: Record<number, "stuck" | "tail"> = {};
  const gaps: number[] = [];
  for (const c of facts.consumers) {
    if (!trackedSet.has(c.partition)) continue;
    const key = `c:${c.partition}`;
    if (!c.exists) {
      out.repair = true;
      if (!mem.missing.has(key)) {
        mem.missing.add(key);
        missing.push(c.partition);
        out.resets.set(c.partition, mem.consumers.get(c.partition)?.ackFloor ?? 0);
      }
      mem.consumers.delete(c.partition);
      continue;
    }
    mem.missing.delete(key);
    if (c.deliveredSeq > readings.lastSeq) {
      beyond.push(c.partition);
      out.resets.set(c.partition, 0);
      mem.consumers.delete(c.partition);
      continue;
    }
    const prev = mem.consumers.get(c.partition);
    const ackedNow = acked.get(c.partition);
    const stuckRounds = deliveryStuck(prev, c, ackedNow);
    const tailRounds = tailUnreceived(prev, c, received.get(c.partition));
    // A source counts from 0 when it starts (a restart replaces it): more than last round is news.
    const gap = skipped.get(c.partition) ?? 0;
    const newGap = gap > (prev?.skipped ?? 0) && (c.ackPending ?? 0) > 0;
    if (stuckRounds >= STUCK_ROUNDS || tailRounds >= TAIL_ROUNDS || newGap) {
      (newGap ? gaps : stuck).push(c.partition);
      if (!newGap) rules[c.partition] = tailRounds >= TAIL_ROUNDS ? "tail" : "stuck";
      out.resets.set(c.partition, c.ackFloor);
      mem.consumers.delete(c.partition);
      continue;
    }
    mem.consumers.set(c.partition, { ackFloor: c.ackFloor, unprocessed: c.unprocessed, deliveredSeq: c.deliveredSeq, stuckRounds, tailRounds, skipped: gap, acked: ackedNow });
  }
  if (stuck.length > 0) {
    out.incidents.push({
      kind: "journal.delivery-lost",
      message: `journal consumers of ${stuck.length} partitions (${stuck.join(", ")}) delivered a message this node never received (still missing after ${TAIL_ROUNDS} rounds, or delivered past it for ${STUCK_ROUNDS} rounds while the ack floor stood still): a delivery was lost (a consumer leader changed?); redelivering from the ack floor now instead of after ack_wait`,
      detail: { stream: readings.name, partitions: stuck, rule: rules, resumeAfter: Object.fromEntries(stuck.map((p) => [p, out.resets.get(p)])) },
    });
  }
  if (gaps.length > 0) {
    out.incidents.push({
      kind: "journal.delivery-lost",
      message: `journal consumers of ${gaps.length} partitions (${gaps.join(", ")}) skipped deliveries this node never received (a gap in their delivery sequence: a message lost on the way, a consumer leader changed?); redelivering from the ack floor now instead of after ack_wait`,
      detail: { stream: readings.name, partitions: gaps, skipped: Object.fromEntries(gaps.map((p) => [p, skipped.get(p)])), resumeAfter: Object.fromEntries(gaps.map((p) => [p, out.resets.get(p)])) },
    });
  }
  if (missing.length > 0) {
    out.incidents.push({
      kind: "journal.consumer-missing",
      message: `journal consumers of ${missing.length} partitions are missing (${missing.join(", ")}); re-creating them after their last known ack floor and resuming`,
      detail: { stream: readings.name, partitions: missing, resumeAfter: Object.fromEntries(missing.map((p) => [p, out.resets.get(p)])) },
    });
  }
  if (beyond.length > 0) {
    const delivered = Math.max(...facts.consumers.filter((c) => beyond.includes(c.partition)).map((c) => c.deliveredSeq));
    out.incidents.push({
      kind: "journal.sequence-reset",
      message: `journal consumers of ${beyond.length} partitions stand beyond the end of stream ${readings.name} (delivered up to ${delivered}, stream ends at ${readings.lastSeq}): the stream went back; restarting them from its start`,
      detail: { stream: readings.name, partitions: beyond, deliveredSeqBefore: delivered, lastSeqAfter: readings.lastSeq },
    });
  }
}

/**
 * Watchdog rounds in which a consumer delivered further while its ack floor stood still with
 * messages awaiting an ack, and this role acknowledged later messages of the partition, before the
 * partition is restarted from its floor. A delivery lost on the way (its consumer's leader died as
 * it sent it) comes back only after ack_wait (60 s); the pump acknowledges its batches in order, so
 * it goes on acknowledging what came after the lost message while the floor stays at it. A pump
 * waiting on a slow or stopped store acknowledges nothing — its oldest batch holds the floor —
 * however far its consumer delivers, so it is not taken for this. (Counting deliveries alone took
 * it for a lost delivery: after a 180 s ClickHouse outage two partitions were restarted from their
 * floors in the drain and every message of the outage applied twice, 38,201 readings.)
 */
export const STUCK_ROUNDS = 15;

/**
 * Watchdog rounds in a row in which the journal says it delivered a message this role has not
 * received (its delivered sequence beyond the highest the role got, unchanged, with messages
 * awaiting an ack) before the partition is restarted from its floor. This sees a lost delivery
 * with nothing sent after it — the last reading before a quiet spell — which {@link STUCK_ROUNDS}
 * cannot (it needs later deliveries). A pump waiting on a slow store has received what it holds, so
 * it is never taken for this; a delivery in flight arrives in milliseconds, not in three rounds.
 */
export const TAIL_ROUNDS = 3;

/** Rounds the consumer's last delivery has stood unreceived (0 when the role got it, or cannot tell). */
function tailUnreceived(prev: ConsumerMemory | undefined, c: { deliveredSeq: number; ackPending?: number }, received: number | undefined): number {
  if (received === undefined || (c.ackPending ?? 0) === 0 || c.deliveredSeq <= received) return 0;
  return prev !== undefined && prev.deliveredSeq === c.deliveredSeq ? prev.tailRounds + 1 : 1;
}

/**
 * Rounds the consumer has delivered past a standing ack floor while this role acknowledged more of
 * the partition (kept while it neither moves nor delivers). Without the role's count (`acked`
 * undefined), deliveries alone.
 */
function deliveryStuck(prev: ConsumerMemory | undefined, c: { ackFloor: number; deliveredSeq: number; ackPending?: number }, acked: number | undefined): number {
  if (prev === undefined || c.ackFloor !== prev.ackFloor || (c.ackPending ?? 0) === 0) return 0;
  const ackedMore = acked === undefined || prev.acked === undefined || acked > prev.acked;
  return c.deliveredSeq > prev.deliveredSeq && ackedMore ? prev.stuckRounds + 1 : prev.stuckRounds;
}
