import { describe, expect, it } from "vitest";
import { SimClock } from "../base/testing/sim-clock.js";
import type { Incident, IncidentReporter } from "../ports/incidents.js";
import type { ConsumerFacts, JournalFacts, StreamFacts } from "../ports/journal-health.js";
import { JournalWatchdog } from "./journal-watchdog.js";
import { STUCK_ROUNDS, TAIL_ROUNDS } from "./journal-assessment.js";

const noop = () => {};
const log = { debug: noop, info: noop, warn: noop, error: noop };

function stream(name: string, lastSeq: number, created = "t0", kind: StreamFacts["kind"] = "stream"): StreamFacts {
  return { name, kind, exists: true, lastSeq, messages: lastSeq, created };
}
function missing(name: string, kind: StreamFacts["kind"] = "stream"): StreamFacts {
  return { name, kind, exists: false, lastSeq: 0, messages: 0 };
}
function consumer(partition: number, deliveredSeq: number, ackFloor = deliveredSeq, unprocessed = 0): ConsumerFacts {
  return { partition, exists: true, deliveredSeq, ackFloor, unprocessed };
}
function noConsumer(partition: number): ConsumerFacts {
  return { partition, exists: false, deliveredSeq: 0, ackFloor: 0, unprocessed: 0 };
}

/** A watchdog on scripted facts, recording incidents, repairs and restarts. */
function rig(opts: { partitions?: number[]; backlog?: { pending: number; oldestAgeMs: number }; repairFails?: number; received?: Map<number, number>; skipped?: Map<number, number>; acked?: Map<number, number> } = {}) {
  let facts: JournalFacts | Error = { streams: [], consumers: [] };
  const incidents: Incident[] = [];
  const reporter: IncidentReporter = { report: (i) => incidents.push(i), degradedReason: () => "" };
  const restarts: Array<{ resets: Record<number, number>; streamReset: boolean }> = [];
  let repairs = 0;
  let failRepairs = opts.repairFails ?? 0;
  const backlog = { ...(opts.backlog ?? { pending: 0, oldestAgeMs: 0 }) };
  const w = new JournalWatchdog({
    probe: { facts: () => (facts instanceof Error ? Promise.reject(facts) : Promise.resolve(facts)) },
    repair: {
      repair: () => {
        repairs++;
        return failRepairs-- > 0 ? Promise.reject(new Error("jetstream not ready")) : Promise.resolve();
      },
    },
    incidents: reporter,
    log,
    clock: new SimClock(0),
    partitions: () => opts.partitions ?? [0, 1],
    ...(opts.received ? { received: (p: number) => opts.received!.get(p) } : {}),
    ...(opts.skipped ? { skipped: (p: number) => opts.skipped!.get(p) } : {}),
    ...(opts.acked ? { acked: (p: number) => opts.acked!.get(p) } : {}),
    onReset: (r, streamReset) => {
      restarts.push({ resets: Object.fromEntries(r), streamReset });
      return Promise.resolve();
    },
    publishes: () => backlog,
    stallAfterMs: 10_000,
  });
  return {
    w,
    incidents,
    restarts,
    backlog,
    repairs: () => repairs,
    set(f: JournalFacts | Error) {
      facts = f;
    },
    kinds: () => incidents.map((i) => i.kind),
  };
}

const healthy = (last: number, created = "t0"): JournalFacts => ({
  streams: [stream("READINGS", last, created), stream("SHOAL_DLQ", 3), stream("KV_snaps", 40, "t0", "bucket")],
  consumers: [consumer(0, last, last - 5, 7), consumer(1, last - 2, last - 2, 3)],
});

describe("journal watchdog", () => {
  it("a standing floor while the node's own acks stand too (its store is down, its source still taking) is a wait, not a lost delivery; acks of later messages make it one", async () => {
    const acked = new Map([
      [0, 100],
      [1, 100],
    ]);
    const r = rig({ partitions: [0, 1], acked });
    const facts = (round: number): JournalFacts => ({
      streams: [stream("READINGS", 5000 + round * 10), stream("SHOAL_DLQ", 3), stream("KV_snaps", 40, "t0", "bucket")],
      consumers: [
        // Both deliver further every round over a floor that stands.
        { ...consumer(0, 600 + round * 10, 499, 20), ackPending: 20 + round * 10 },
        { ...consumer(1, 700 + round * 10, 650, 50), ackPending: 50 + round * 10 },
      ],
    });
    for (let round = 0; round < 2 * STUCK_ROUNDS; round++) {
      r.set(facts(round));
      // Partition 0 acknowledges what came after its floor; partition 1 acknowledges nothing (its store is down).
      acked.set(0, acked.get(0)! + 10);
      await r.w.check();
    }
    expect(r.restarts).toEqual([{ resets: { 0: 499 }, streamReset: false }]);
    expect(r.incidents[0]!.detail).toMatchObject({ partitions: [0], rule: { 0: "stuck" } });
  });

  it("a delivery lost on the way (floor stands while later ones flow) restarts that partition from its floor, once; a pump waiting on a slow store does not", async () => {
    const r = rig({ partitions: [0, 1] });
    const facts = (round: number): JournalFacts => ({
      streams: [stream("READINGS", 1000 + round * 10), stream("SHOAL_DLQ", 3), stream("KV_snaps", 40, "t0", "bucket")],
      consumers: [
        // Partition 0: message 500 never arrived; everything after it flows and waits for its ack.
        { ...consumer(0, 600 + round * 10, 499, 20), ackPending: 20 },
        // Partition 1: waits on a slow store — floor still, delivered still (its pulls stopped).
        { ...consumer(1, 700, 650, 50), ackPending: 50 },
      ],
    });
    for (let round = 0; round < STUCK_ROUNDS; round++) {
      r.set(facts(round));
      await r.w.check();
    }
    expect(r.restarts).toEqual([]);
    r.set(facts(STUCK_ROUNDS));
    await r.w.check();
    expect(r.kinds()).toEqual(["journal.delivery-lost"]);
    expect(r.restarts).toEqual([{ resets: { 0: 499 }, streamReset: false }]);
    // Afterwards learnt afresh: no second restart from the same facts.
    r.set(facts(STUCK_ROUNDS + 1));
    await r.w.check();
    expect(r.restarts).toHaveLength(1);
  });

  it("a last delivery this node never received (nothing after it) restarts that partition from its floor after TAIL_ROUNDS; one that arrives, or a slow pump holding what it got, does not", async () => {
    const received = new Map([
      [0, 799],
      [1, 700],
      [2, 899],
    ]);
    const r = rig({ partitions: [0, 1, 2], received });
    const facts: JournalFacts = {
      streams: [stream("READINGS", 1000), stream("SHOAL_DLQ", 3), stream("KV_snaps", 40, "t0", "bucket")],
      consumers: [
        // Partition 0: the journal delivered 800 (the last reading before a quiet spell); the node got up to 799.
        { ...consumer(0, 800, 790, 10), ackPending: 10 },
        // Partition 1: a slow store — everything delivered was received and waits for its ack.
        { ...consumer(1, 700, 650, 50), ackPending: 50 },
        // Partition 2: 900 is on its way (arrives after the first round).
        { ...consumer(2, 900, 880, 20), ackPending: 20 },
      ],
    };
    r.set(facts);
    await r.w.check();
    received.set(2, 900);
    for (let round = 2; round < TAIL_ROUNDS; round++) await r.w.check();
    expect(r.restarts).toEqual([]);
    await r.w.check();
    expect(r.kinds()).toEqual(["journal.delivery-lost"]);
    expect(r.restarts).toEqual([{ resets: { 0: 790 }, streamReset: false }]);
    // Partition 1 keeps waiting on its store for many rounds: never taken for a lost delivery.
    for (let round = 0; round < STUCK_ROUNDS + TAIL_ROUNDS; round++) await r.w.check();
    expect(Object.keys(r.restarts.at(-1)!.resets)).toEqual(["0"]);
    expect(r.restarts.every((x) => !("1" in x.resets) && !("2" in x.resets))).toBe(true);
  });

  it("a gap in a consumer's delivery sequence (a delivery that never arrived) restarts that partition from its floor at the next round, once", async () => {
    const skipped = new Map([
      [0, 0],
      [1, 0],
    ]);
    const r = rig({ partitions: [0, 1], skipped });
    const facts: JournalFacts = {
      streams: [stream("READINGS", 1000), stream("SHOAL_DLQ", 3), stream("KV_snaps", 40, "t0", "bucket")],
      consumers: [
        { ...consumer(0, 800, 640, 10), ackPending: 160 },
        { ...consumer(1, 700, 650, 50), ackPending: 50 },
      ],
    };
    r.set(facts);
    await r.w.check();
    expect(r.restarts).toEqual([]);
    skipped.set(0, 1); // partition 0's source saw the delivery sequence jump by two
    await r.w.check();
    expect(r.kinds()).toEqual(["journal.delivery-lost"]);
    expect(r.incidents[0]!.detail).toEqual({ stream: "READINGS", partitions: [0], skipped: { 0: 1 }, resumeAfter: { 0: 640 } });
    expect(r.restarts).toEqual([{ resets: { 0: 640 }, streamReset: false }]);
    // The restart replaced the source: it counts from 0 again, and nothing more happens.
    skipped.set(0, 0);
    for (let round = 0; round < 5; round++) await r.w.check();
    expect(r.restarts).toHaveLength(1);
    // A gap healed by a redelivery before anyone looked (nothing awaits an ack) is only remembered.
    skipped.set(1, 2);
    r.set({ ...facts, consumers: [{ ...consumer(0, 800, 800, 0), ackPending: 0 }, { ...consumer(1, 700, 700, 0), ackPending: 0 }] });
    await r.w.check();
    r.set(facts);
    await r.w.check();
    expect(r.restarts).toHaveLength(1);
  });

  it("a healthy journal raises nothing, repairs nothing, restarts nothing", async () => {
    const r = rig();
    r.set(healthy(100));
    await r.w.check();
    r.set(healthy(150));
    await r.w.check();
    expect([r.kinds(), r.repairs(), r.restarts]).toEqual([[], 0, []]);
  });

  it("streams and bucket missing (empty store): one incident each with what was lost, a repair, every partition restarted from the start", async () => {
    const r = rig();
    r.set(healthy(100));
    await r.w.check();
    r.set({ streams: [missing("READINGS"), missing("SHOAL_DLQ"), missing("KV_snaps", "bucket")], consumers: [] });
    await r.w.check();
    expect(r.kinds()).toEqual(["journal.stream-missing", "journal.stream-missing", "journal.bucket-missing"]);
    expect(r.incidents[0]!.detail).toEqual({ stream: "READINGS", lastSeqBefore: 100, messagesLost: 100, unprocessedLost: 10, partitionsRestarted: 2 });
    expect(r.incidents[2]!.detail).toEqual({ bucket: "KV_snaps", valuesLost: 40 });
    expect(r.repairs()).toBe(1);
    expect(r.restarts).toEqual([{ resets: { 0: 0, 1: 0 }, streamReset: true }]);
    // Re-created by the repair: learnt afresh, no second incident, no second restart.
    r.set(healthy(0, "t1"));
    await r.w.check();
    r.set(healthy(4, "t1"));
    await r.w.check();
    expect(r.incidents).toHaveLength(3);
    expect(r.restarts).toHaveLength(1);
  });

  it("a repair that fails is retried every round; the incident is not repeated and partitions restart once it worked", async () => {
    const r = rig({ repairFails: 2 });
    r.set(healthy(100));
    await r.w.check();
    r.set({ streams: [missing("READINGS"), stream("SHOAL_DLQ", 3), stream("KV_snaps", 40, "t0", "bucket")], consumers: [] });
    await r.w.check();
    await r.w.check();
    expect([r.kinds(), r.repairs(), r.restarts]).toEqual([["journal.stream-missing"], 2, []]);
    await r.w.check();
    expect(r.repairs()).toBe(3);
    expect(r.restarts).toEqual([{ resets: { 0: 0, 1: 0 }, streamReset: true }]);
  });

  it("a stream re-created by someone else (another creation time) or whose last sequence went back is a sequence reset", async () => {
    const r = rig();
    r.set(healthy(100));
    await r.w.check();
    r.set(healthy(3, "t1"));
    await r.w.check();
    expect(r.kinds()).toEqual(["journal.sequence-reset"]);
    expect(r.incidents[0]!.detail).toMatchObject({ stream: "READINGS", lastSeqBefore: 100, lastSeqAfter: 3, messagesLost: 100, unprocessedLost: 10 });
    expect(r.restarts).toEqual([{ resets: { 0: 0, 1: 0 }, streamReset: true }]);
    expect(r.repairs()).toBe(0);
    // Same creation time but fewer messages (a store restored from an older copy).
    r.set(healthy(50, "t1"));
    await r.w.check();
    r.set(healthy(20, "t1"));
    await r.w.check();
    expect(r.kinds()).toEqual(["journal.sequence-reset", "journal.sequence-reset"]);
    expect(r.incidents[1]!.detail).toMatchObject({ lastSeqBefore: 50, lastSeqAfter: 20, messagesLost: 30 });
  });

  it("a missing consumer is re-created after its last known ack floor; one beyond the stream's end restarts from the start", async () => {
    const r = rig();
    r.set(healthy(100));
    await r.w.check();
    r.set({ ...healthy(110), consumers: [noConsumer(0), consumer(1, 108)] });
    await r.w.check();
    expect(r.kinds()).toEqual(["journal.consumer-missing"]);
    expect(r.incidents[0]!.detail).toEqual({ stream: "READINGS", partitions: [0], resumeAfter: { 0: 95 } });
    expect(r.repairs()).toBe(1);
    expect(r.restarts).toEqual([{ resets: { 0: 95 }, streamReset: false }]);
    r.set({ ...healthy(120), consumers: [consumer(0, 120), consumer(1, 500)] });
    await r.w.check();
    expect(r.kinds()).toEqual(["journal.consumer-missing", "journal.sequence-reset"]);
    expect(r.incidents[1]!.detail).toEqual({ stream: "READINGS", partitions: [1], deliveredSeqBefore: 500, lastSeqAfter: 120 });
    expect(r.restarts[1]).toEqual({ resets: { 1: 0 }, streamReset: false });
  });

  it("consumers of partitions this role does not own are not its business", async () => {
    const r = rig({ partitions: [1] });
    r.set(healthy(100));
    await r.w.check();
    r.set({ ...healthy(110), consumers: [noConsumer(0), consumer(1, 108)] });
    await r.w.check();
    expect([r.kinds(), r.restarts]).toEqual([[], []]);
  });

  it("an unreachable journal is no incident; what it lost is found when it answers again", async () => {
    const r = rig();
    r.set(healthy(100));
    await r.w.check();
    r.set(new Error("CONNECTION_REFUSED"));
    await r.w.check();
    await r.w.check();
    expect(r.kinds()).toEqual([]);
    r.set(healthy(2, "t1"));
    await r.w.check();
    expect(r.kinds()).toEqual(["journal.sequence-reset"]);
  });

  it("a bucket re-created under the role (another process repaired it first) is reported as lost, nothing restarted", async () => {
    const r = rig();
    r.set(healthy(100));
    await r.w.check();
    const f = healthy(110);
    r.set({ ...f, streams: [f.streams[0]!, f.streams[1]!, { ...f.streams[2]!, created: "t9", messages: 0, lastSeq: 0 }] });
    await r.w.check();
    expect([r.kinds(), r.incidents[0]!.detail, r.restarts, r.repairs()]).toEqual([["journal.bucket-missing"], { bucket: "KV_snaps", valuesLost: 40 }, [], 0]);
  });

  it("a publish unanswered past the limit is reported once per stall", async () => {
    const r = rig({ backlog: { pending: 3, oldestAgeMs: 9_000 } });
    r.set(healthy(1));
    await r.w.check();
    expect(r.kinds()).toEqual([]);
    r.backlog.oldestAgeMs = 12_000;
    await r.w.check();
    await r.w.check();
    expect(r.kinds()).toEqual(["journal.publish-stalled"]);
    expect(r.incidents[0]!.detail).toEqual({ pendingPublishes: 3, oldestAgeMs: 12_000 });
    r.backlog.pending = 0;
    await r.w.check();
    r.backlog.pending = 5;
    await r.w.check();
    expect(r.kinds()).toEqual(["journal.publish-stalled", "journal.publish-stalled"]);
  });
});
