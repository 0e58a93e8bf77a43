import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { startNats, type ServiceHandle } from "../harness/index.js";
import { ensureJournal } from "../../src/adapters/nats/streams.js";
import { JetStreamPartitionSource } from "../../src/adapters/nats/partition-source.js";
import { partitionConsumerName, readingSubject } from "../../src/domain/subjects.js";
import { sleep } from "../../src/base/clock.js";
import { waitFor } from "../support/pipeline.js";

/**
 * The runtime's journal source pulls only what it has room for: while nothing takes its messages
 * (the pump waits on a ClickHouse that is down), the backlog stays in the journal, not in memory.
 */
describe("JetStreamPartitionSource flow control (real nats-server)", () => {
  let nats: ServiceHandle;
  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    await nats?.cleanup();
  });

  it("holds at most its pull batch while nothing takes, and delivers the rest in order once taken", async () => {
    const nc = await connect({ servers: nats.url });
    const STREAM = "FLOW";
    try {
      await ensureJournal(nc, { stream: STREAM, partitions: 1, duplicateWindowMs: 120_000, maxAgeMs: 3_600_000, maxAckPending: 20_000, replicas: 1 });
      const js = jetstream(nc);
      for (let i = 1; i <= 2000; i++) await js.publish(readingSubject(0, `d-${i % 7}`), new Uint8Array([i & 0xff]));
      const jsm = await jetstreamManager(nc);
      const consumer = () => jsm.consumers.info(STREAM, partitionConsumerName(0));
      const src = await JetStreamPartitionSource.create(nc, STREAM, 0, 50);
      await waitFor(async () => src.receivedSeq(), (n) => n >= 50, 10_000, "the first pull batch received");
      // Nothing takes for 2 pulls' lifetimes: no more is asked for or sent.
      await sleep(4500);
      expect(src.receivedSeq()).toBe(50);
      const held = await consumer();
      expect(held.num_ack_pending).toBe(50);
      expect(held.num_pending).toBe(1950);
      // Taking frees room: every message comes, in stream order, each once.
      const seqs: number[] = [];
      while (seqs.length < 2000) {
        const b = await src.next(100, 1000);
        for (const m of b.messages) seqs.push(m.streamSeq);
        b.ack();
      }
      expect(seqs).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
      await waitFor(async () => (await consumer()).num_ack_pending, (n) => n === 0, 10_000, "every message acknowledged");
      await src.close();
    } finally {
      await (await jetstreamManager(nc)).streams.delete(STREAM).catch(() => undefined);
      await nc.close();
    }
  });

  it("pulls that outlive their life are replaced without losing or delaying a message: the next message after a quiet spell comes at once", async () => {
    // Under load nats-server 2.9.10 ended some pulls without a word to the client, which gave them up
    // only after two missed heartbeats; the source closes a pull 250 ms after its life. Here (a quiet
    // partition) pulls end normally: what this checks is that the watch on them loses and delays nothing.
    const nc = await connect({ servers: nats.url });
    const STREAM = "OVERDUE";
    try {
      await ensureJournal(nc, { stream: STREAM, partitions: 1, duplicateWindowMs: 120_000, maxAgeMs: 3_600_000, maxAckPending: 20_000, replicas: 1 });
      const js = jetstream(nc);
      const src = await JetStreamPartitionSource.create(nc, STREAM, 0, 50);
      const delays: number[] = [];
      for (let round = 0; round < 3; round++) {
        // One message (a pull gets it and goes on waiting for 49 more), then nothing for longer than a pull's life.
        await js.publish(readingSubject(0, "d"), new Uint8Array([round]));
        (await src.next(10, 5000)).ack();
        await sleep(3000);
        const at = Date.now();
        await js.publish(readingSubject(0, "d"), new Uint8Array([100 + round]));
        const b = await src.next(10, 5000);
        delays.push(Date.now() - at);
        expect(b.messages).toHaveLength(1);
        b.ack();
      }
      expect(Math.max(...delays)).toBeLessThan(700);
      await src.close();
    } finally {
      await (await jetstreamManager(nc)).streams.delete(STREAM).catch(() => undefined);
      await nc.close();
    }
  });

  it("keeps what waits in its buffer, and what it handed out unacked, past ack_wait from being redelivered (in-progress acks)", async () => {
    const nc = await connect({ servers: nats.url });
    const STREAM = "FLOWWAIT";
    try {
      // ack_wait 3 s: the source tells the journal every second that what it buffers is in progress.
      await ensureJournal(nc, { stream: STREAM, partitions: 1, duplicateWindowMs: 120_000, maxAgeMs: 3_600_000, maxAckPending: 20_000, ackWaitMs: 3000, replicas: 1 });
      const js = jetstream(nc);
      for (let i = 1; i <= 50; i++) await js.publish(readingSubject(0, "d"), new Uint8Array([i]));
      const src = await JetStreamPartitionSource.create(nc, STREAM, 0, 50);
      await waitFor(async () => src.receivedSeq(), (n) => n >= 50, 10_000, "the 50 received");
      // Nothing takes them for more than twice ack_wait (a pump waiting on a store that is down).
      await sleep(7000);
      const first = await src.next(100, 1000);
      expect(first.messages.map((m) => m.deliveryCount)).toEqual(Array(50).fill(1));
      // Taken but not acked for more than twice ack_wait again (the pump holds the batch while its store is down).
      await sleep(7000);
      // Room again: the next pull brings the new message only, not the 50 again.
      await js.publish(readingSubject(0, "d"), new Uint8Array([51]));
      const later: { seq: number; count: number }[] = [];
      const until = Date.now() + 2000;
      while (Date.now() < until) for (const m of (await src.next(100, 200)).messages) later.push({ seq: m.streamSeq, count: m.deliveryCount });
      expect(later).toEqual([{ seq: 51, count: 1 }]);
      first.ack();
      await src.close();
    } finally {
      await (await jetstreamManager(nc)).streams.delete(STREAM).catch(() => undefined);
      await nc.close();
    }
  });
});
