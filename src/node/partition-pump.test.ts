import { describe, expect, it } from "vitest";
import type { ActorHost, JournalEffects } from "../ports/actor-host.js";
import type { EventPublisher, JournalBatch, PartitionSource } from "../ports/journal.js";
import { type RowSink, type RowsByTable } from "../ports/row-sink.js";
import { rowBatchOf } from "../domain/row-batch.js";
import { encodeReading } from "../domain/reading-codec.js";
import { ShoalError } from "../base/errors.js";
import { PartitionPump } from "./partition-pump.js";
import { SharedBudget } from "../base/concurrency.js";

/** In-memory fakes of the pump's ports (unit test of the pump's logic only). */
function fakeSource(batches: number, size: number) {
  const log: string[] = [];
  let n = 0;
  let seq = 0;
  const src: PartitionSource = {
    partition: 0,
    async next() {
      if (n >= batches) {
        await new Promise((r) => setTimeout(r, 5));
        return { partition: 0, messages: [], ack() {}, nak() {} };
      }
      const id = n++;
      const messages = Array.from({ length: size }, () => {
        seq++;
        return { data: encodeReading({ deviceId: "d", seq, tsMs: seq, metrics: { v: seq } }), streamSeq: seq, deliveryCount: 1, subject: "shoal.readings.0.d" };
      });
      const b: JournalBatch = { partition: 0, messages, ack: () => log.push(`ack ${id}`), nak: () => log.push(`nak ${id}`) };
      return b;
    },
    async close() {},
  };
  return { src, log };
}

/** A source that serves `messages` once, then empty batches. */
function oneBatchSource(messages: JournalBatch["messages"]): PartitionSource {
  let served = false;
  return {
    partition: 0,
    async next() {
      if (served) {
        await new Promise((r) => setTimeout(r, 5));
        return { partition: 0, messages: [], ack() {}, nak() {} };
      }
      served = true;
      return { partition: 0, messages, ack() {}, nak() {} };
    },
    async close() {},
  };
}

const host: ActorHost = {
  async deliverJournal(_partition, messages) {
    const fx: JournalEffects = { rows: new Map([["readings", rowBatchOf(messages.map((m) => ({ seq: m.streamSeq })))]]), events: [], calls: [], deadLetters: [], corrupt: [] };
    return fx;
  },
  async close() {},
};

const events: EventPublisher & { dls: string[] } = {
  dls: [],
  event() {},
  async deadLetter(dl) {
    this.dls.push(dl.code);
  },
};

describe("PartitionPump", () => {
  it("pumps sharing a byte budget stop pulling while a stalled sink holds it, and go on when it drains", async () => {
    const size = (await fakeSource(1, 1).src.next(1, 1)).messages[0]!.data.length;
    const budget = new SharedBudget(size * 10);
    let release: () => void = () => {};
    const stalled = new Promise<void>((r) => (release = r));
    const sink: RowSink = { write: () => stalled, async close() {} };
    const sources = [fakeSource(100, 2), fakeSource(100, 2)];
    const pumps = sources.map((s) => new PartitionPump(s.src, host, sink, events, { fetchBatch: 2, fetchExpiresMs: 5, maxBatchesInFlight: 1000, budget }));
    for (const p of pumps) p.start();
    const pulled = () => pumps.reduce((a, p) => a + p.stats.pulled, 0);
    await until(() => pulled() >= 10);
    await new Promise((r) => setTimeout(r, 50)); // time to pull more, were it allowed
    const pulledWhileStalled = pulled();
    // At the limit (10 messages' bytes) both pumps stop; each may pass it by the one batch it already had.
    expect(pulledWhileStalled).toBeGreaterThanOrEqual(10);
    expect(pulledWhileStalled).toBeLessThanOrEqual(10 + 2 * 2);
    expect(budget.inUse).toBe(pulledWhileStalled * size);
    release();
    await until(() => pumps.reduce((a, p) => a + p.stats.acked, 0) === 400);
    await Promise.all(pumps.map((p) => p.stop()));
    expect(budget.inUse).toBe(0);
  });

  it("acks batches in journal order even when the sink finishes them out of order", async () => {
    const { src, log } = fakeSource(4, 3);
    let call = 0;
    const sink: RowSink = {
      write: () => new Promise<void>((r) => setTimeout(r, [40, 5, 20, 1][call++]!)),
      async close() {},
    };
    const pump = new PartitionPump(src, host, sink, events, { fetchBatch: 3, fetchExpiresMs: 5, maxBatchesInFlight: 4 });
    pump.start();
    await new Promise((r) => setTimeout(r, 120));
    await pump.stop();
    expect(log).toEqual(["ack 0", "ack 1", "ack 2", "ack 3"]);
    expect(pump.stats.acked).toBe(12);
  });

  it("stops pulling while maxBatchesInFlight batches wait on a stalled sink", async () => {
    const { src } = fakeSource(100, 10);
    const release: Array<() => void> = [];
    const sink: RowSink = { write: () => new Promise<void>((r) => release.push(r)), async close() {} };
    const pump = new PartitionPump(src, host, sink, events, { fetchBatch: 10, fetchExpiresMs: 5, maxBatchesInFlight: 3 });
    pump.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(pump.stats.batches).toBe(3);
    release.splice(0).forEach((r) => r());
    await new Promise((r) => setTimeout(r, 50));
    expect(pump.stats.batches).toBe(6);
    const stopping = pump.stop();
    await new Promise((r) => setTimeout(r, 10));
    release.splice(0).forEach((r) => r());
    await stopping;
    expect(pump.stats.acked).toBe(60);
  });

  it("naks a batch with a retryable failure and every later in-flight batch, and resets the partition", async () => {
    const { src, log } = fakeSource(3, 2);
    let call = 0;
    const resets: number[] = [];
    const sink: RowSink = {
      write: () => (call++ === 0 ? new Promise<void>((_, rej) => setTimeout(() => rej(new ShoalError("down", { code: "storage_unavailable", retryable: true })), 20)) : Promise.resolve()),
      async close() {},
    };
    const h: ActorHost = { ...host, resetPartition: async (p) => void resets.push(p) };
    const pump = new PartitionPump(src, h, sink, events, { fetchBatch: 2, fetchExpiresMs: 5, maxBatchesInFlight: 3 });
    pump.start();
    await new Promise((r) => setTimeout(r, 80));
    await pump.stop();
    expect(log).toEqual(["nak 0", "nak 1", "nak 2"]);
    expect(resets.length).toBe(3);
  });

  it("dead-letters every message of a batch whose rows are permanently rejected, then acks it", async () => {
    const { src, log } = fakeSource(1, 2);
    const sink: RowSink = { write: () => Promise.reject(new ShoalError("bad rows", { code: "storage_rejected", retryable: false })), async close() {} };
    events.dls.length = 0;
    const pump = new PartitionPump(src, host, sink, events, { fetchBatch: 2, fetchExpiresMs: 5, maxBatchesInFlight: 2 });
    pump.start();
    await new Promise((r) => setTimeout(r, 40));
    await pump.stop();
    expect(events.dls).toEqual(["storage_rejected", "storage_rejected"]);
    expect(log).toEqual(["ack 0"]);
  });

  it("dead-letters a corrupt journal message and processes the rest", async () => {
    const bad = oneBatchSource([{ data: new Uint8Array([0xff, 0xff]), streamSeq: 1, deliveryCount: 1, subject: "s" }]);
    events.dls.length = 0;
    const sink: RowSink = { write: (_r: RowsByTable) => Promise.resolve(), async close() {} };
    // The host decodes (where the actors live) and reports what did not decode.
    const decoding: ActorHost = { ...host, deliverJournal: async () => ({ rows: new Map(), events: [], calls: [], deadLetters: [], corrupt: [{ index: 0, reason: "not a reading" }] }) };
    const pump = new PartitionPump(bad, decoding, sink, events, { fetchBatch: 1, fetchExpiresMs: 5, maxBatchesInFlight: 1 });
    pump.start();
    await new Promise((r) => setTimeout(r, 20));
    await pump.stop();
    expect(events.dls[0]).toBe("corrupt_journal_message");
  });

  it("keeps pulling after a sink that throws instead of rejecting: that batch is nak'd, the next acked", async () => {
    const { src, log } = fakeSource(2, 2);
    let call = 0;
    const sink: RowSink = {
      write: () => {
        if (call++ === 0) throw new TypeError("sink bug");
        return Promise.resolve();
      },
      async close() {},
    };
    const errors: unknown[] = [];
    const pump = new PartitionPump(src, host, sink, events, { fetchBatch: 2, fetchExpiresMs: 5, maxBatchesInFlight: 2 }, { onError: (e) => errors.push(e) });
    pump.start();
    await new Promise((r) => setTimeout(r, 40));
    await pump.stop();
    expect(log).toEqual(["nak 0", "ack 1"]);
    expect((errors[0] as Error).message).toBe("sink bug");
    expect(pump.stats.naks).toBe(2);
  });

  it("reports where a batch's readings waited: pulled, applied, durable, since the journal stored its oldest message", async () => {
    const m = (seq: number, storedAtMs: number) => ({ data: new Uint8Array(0), streamSeq: seq, deliveryCount: 1, subject: "s", storedAtMs });
    const src = oneBatchSource([m(1, 1000), m(2, 1010)]);
    let now = 1030;
    const sink: RowSink = { write: () => new Promise<void>((r) => setTimeout(() => ((now = 1100), r()), 5)), async close() {} };
    const seen: [string, number][] = [];
    const slow: ActorHost = { ...host, deliverJournal: async (p, ms) => ((now = 1050), host.deliverJournal(p, ms)) };
    const pump = new PartitionPump(src, slow, sink, events, { fetchBatch: 2, fetchExpiresMs: 5, maxBatchesInFlight: 1 }, { stages: (stage, ms) => seen.push([stage, ms]), now: () => now });
    pump.start();
    await new Promise((r) => setTimeout(r, 30));
    await pump.stop();
    expect(seen).toEqual([
      ["pulled", 30],
      ["applied", 50],
      ["durable", 100],
    ]);
  });
});

/** Wait until `done()` (polled every 5 ms); fails after 10 s. */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error("condition not reached within 10 s");
    await new Promise((r) => setTimeout(r, 5));
  }
}
