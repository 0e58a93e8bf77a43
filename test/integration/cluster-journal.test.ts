import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNats, type ServiceHandle } from "../harness/index.js";
import { ensureJournal, rewindPartitionConsumer } from "../../src/adapters/nats/streams.js";
import { CONSUMER_RECREATED, createNatsPartitionJournal } from "../../src/adapters/nats/partition-journal.js";
import { partitionConsumerName } from "../../src/domain/subjects.js";

/**
 * The cluster's partition journal on a real nats-server: the lease holder learns what a previous
 * owner pulled without acking but leaves the consumer (and its ack floor) for the owner's acquire to
 * rewind, and a consumer that a previous owner deleted in its own rewind and never re-created (it was
 * SIGKILLed in between) is re-created instead of failing every acquire forever.
 */
describe("cluster partition journal on NATS", () => {
  const STREAM = "READINGS";
  let nats: ServiceHandle;
  let nc: NatsConnection;
  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    await ensureJournal(nc, { stream: STREAM, partitions: 2, duplicateWindowMs: 60_000, maxAgeMs: 3_600_000, maxAckPending: 1000, replicas: 1 });
    const js = jetstream(nc);
    for (let i = 1; i <= 10; i++) await js.publish(`shoal.readings.0.d${i}`, new Uint8Array([i]));
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.cleanup();
  });

  it("reports what a previous owner pulled without acking and leaves the rewind (and its ack floor) to the owner", async () => {
    const journal = await createNatsPartitionJournal(nc, STREAM);
    const consumer = await jetstream(nc).consumers.get(STREAM, partitionConsumerName(0));
    const got = await consumer.fetch({ max_messages: 4, expires: 2000 });
    let n = 0;
    for await (const m of got) if (++n <= 2) m.ack(); // 2 acked, 2 left pending (a dead owner's)
    await nc.flush();
    const before = { partition: 0, pending: 6, ackPending: 2, ackFloor: 2 };
    expect(await journal.lag(0)).toEqual(before);
    expect(await journal.rewind(0)).toBe(2);
    expect(await journal.lag(0)).toEqual(before); // the runtime's acquire still reads ack floor 2
    // Why the owner must read the floor before rewinding: a re-created consumer reports 0 until its
    // first ack, and the runtime would then replay nothing into the actors.
    const jsm = await jetstreamManager(nc);
    await rewindPartitionConsumer(jsm, { stream: STREAM, maxAckPending: 1000 }, 0, before.ackFloor);
    expect(await journal.lag(0)).toEqual({ partition: 0, pending: 8, ackPending: 0, ackFloor: 0 });
  });

  it("re-creates a consumer a killed owner deleted mid-rewind, from the start of the journal", async () => {
    const journal = await createNatsPartitionJournal(nc, STREAM);
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.delete(STREAM, partitionConsumerName(0));
    expect(await journal.rewind(0)).toBe(CONSUMER_RECREATED);
    expect(await journal.lag(0)).toMatchObject({ partition: 0, pending: 10, ackPending: 0 });
    const info = await jsm.consumers.info(STREAM, partitionConsumerName(0));
    expect(info.config).toMatchObject({ durable_name: partitionConsumerName(0), filter_subject: "shoal.readings.0.>", max_ack_pending: 20_000 });
  });
});
