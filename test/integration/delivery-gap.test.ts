import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import { publishJournal, syntheticJournal } from "../support/journal-fixture.js";
import { startClickHouse, startNats, type ServiceHandle } from "../harness/index.js";
import { ensureJournal } from "../../src/adapters/nats/streams.js";
import { JetStreamPartitionSource } from "../../src/adapters/nats/partition-source.js";
import { partitionConsumerName, readingSubject } from "../../src/domain/subjects.js";
import { startRuntimeRole } from "../../src/cli/roles/runtime-role.js";
import type { Incident } from "../../src/ports/incidents.js";
import { chQuery, pipelineConfig, quietLogger, waitFor } from "../support/pipeline.js";

/**
 * A delivery the journal made that never reached the runtime (a consumer leader dying as it sent
 * it, in production) is made here by a second client pulling one message from the runtime's own
 * consumer and never acknowledging it. The consumer's delivery sequence then skips one at the
 * runtime's source; the journal watchdog must restart the partition from its ack floor at once
 * rather than leave the message for ack_wait (60 s) or the 15-round rule.
 */
/** One pull of one message from partition 0's consumer, never acknowledged; resolves when it ends. */
async function steal(nc: NatsConnection, stream: string, got: (m: JsMsg) => void): Promise<void> {
  const c = await jetstream(nc).consumers.get(stream, partitionConsumerName(0));
  // The pull request goes out when the iteration starts.
  for await (const m of await c.fetch({ max_messages: 1, expires: 20_000 })) got(m);
}

/** Pull requests waiting on partition 0's consumer. */
async function waiting(nc: NatsConnection, stream: string): Promise<number> {
  return (await (await jetstreamManager(nc)).consumers.info(stream, partitionConsumerName(0))).num_waiting;
}

describe("a delivery that never arrives (a gap in the consumer's delivery sequence)", () => {
  let nats: ServiceHandle;
  let ch: ServiceHandle;
  beforeAll(async () => {
    [nats, ch] = await Promise.all([startNats(), startClickHouse()]);
  });
  afterAll(async () => {
    await Promise.all([nats?.cleanup(), ch?.cleanup()]);
  });

  it("is counted by the partition source", async () => {
    const nc = await connect({ servers: nats.url });
    const thief = await connect({ servers: nats.url });
    try {
      await ensureJournal(nc, { stream: "GAPS", partitions: 1, duplicateWindowMs: 120_000, maxAgeMs: 3_600_000, maxAckPending: 1000, replicas: 1 });
      const js = jetstream(nc);
      const publish = (i: number) => js.publish(readingSubject(0, `d-${i}`), new Uint8Array([i]));
      const src = await JetStreamPartitionSource.create(nc, "GAPS", 0, 1);
      // The source pulls only what it has room for (one message here): something must take them.
      let taking = true;
      const taken = (async () => {
        while (taking) await src.next(10, 200);
      })();
      for (let i = 1; i <= 5; i++) await publish(i);
      await waitFor(async () => src.receivedSeq(), (n) => n >= 5, 10_000, "the first 5 received");
      // The thief's pull waits on the server behind the source's next one.
      const got: number[] = [];
      const stealing = steal(thief, "GAPS", (m) => got.push(m.info.deliverySequence));
      await waitFor(() => waiting(nc, "GAPS"), (n) => n >= 2, 10_000, "the thief's pull waiting beside the source's");
      for (let i = 6; i <= 9; i++) await publish(i);
      await stealing;
      await waitFor(async () => src.receivedSeq(), (n) => n >= 9, 10_000, "the rest received");
      expect(got).toHaveLength(1);
      expect(src.skippedDeliveries()).toBe(1);
      taking = false;
      await src.close();
      await taken;
    } finally {
      await (await jetstreamManager(nc)).streams.delete("GAPS").catch(() => undefined);
      await thief.close();
      await nc.close();
    }
  });

  it("makes the runtime restart the partition from its ack floor: every reading stored long before ack_wait, the loss reported", async () => {
    const DB = "delivery_gap";
    const msgs = syntheticJournal({ devices: 200, rounds: 15, partitions: 1, prefix: "g-", seedStep: 7, seedOffset: 1, anomalyRate: 0 });
    const cfg = pipelineConfig({ nats: nats.url, mqtt: "mqtt://127.0.0.1:1", clickhouse: ch.url }, { SHOAL__NATS__PARTITIONS: "1", SHOAL__NATS__STREAM: "GAPREADINGS", SHOAL__CLICKHOUSE__DATABASE: DB, SHOAL__RUNTIME__WORKERS: "1" });
    const nc = await connect({ servers: nats.url });
    const thief = await connect({ servers: nats.url });
    await ensureJournal(nc, { stream: cfg.nats.stream, partitions: 1, duplicateWindowMs: 120_000, maxAgeMs: 3_600_000, maxAckPending: 20_000, replicas: 1 });
    const incidents: Incident[] = [];
    const rt = await startRuntimeRole(cfg, quietLogger("runtime"), "all", { incidents: { report: (i) => incidents.push(i), degradedReason: () => "" } });
    const stored = async () => Number((await chQuery<{ n: string }>(ch.url, DB, "SELECT toString(uniqExact(device_id, epoch, seq)) AS n FROM readings").catch(() => [{ n: "-1" }]))[0]!.n);
    try {
      await publishJournal(nc, msgs.slice(0, 1000));
      await waitFor(stored, (n) => n >= 1000, 60_000, "the first 1,000 stored");
      // The thief's pull waits behind the runtime's; the stream goes on, and one message goes to it.
      const got: number[] = [];
      const stealing = steal(thief, cfg.nats.stream, (m) => got.push(m.seq));
      await waitFor(() => waiting(nc, cfg.nats.stream), (n) => n >= 2, 10_000, "the thief's pull waiting beside the runtime's");
      await publishJournal(nc, msgs.slice(1000), { every: 100, ms: 20 });
      await stealing;
      expect(got).toHaveLength(1);
      const stolenAt = Date.now();
      // ack_wait is 60 s: all stored well within it means the watchdog, not the server, brought it back.
      await waitFor(stored, (n) => n >= msgs.length, 30_000, "every reading stored, the stolen one too");
      const tookMs = Date.now() - stolenAt;
      const lost = incidents.filter((i) => i.kind === "journal.delivery-lost");
      expect(lost.length).toBeGreaterThanOrEqual(1);
      expect(lost[0]!.detail).toMatchObject({ partitions: [0], skipped: { 0: 1 } });
      const rows = await chQuery<{ n: string; d: string }>(ch.url, DB, "SELECT toString(count()) AS n, toString(uniqExact(device_id, epoch, seq)) AS d FROM readings FINAL");
      expect(rows[0]).toEqual({ n: String(msgs.length), d: String(msgs.length) });
      console.log(`delivery gap: stream seq ${got[0]} stolen; all ${msgs.length} readings stored ${tookMs} ms after (ack_wait 60 s); incidents ${incidents.map((i) => i.kind).join(", ")}`);
    } finally {
      await rt.close();
      await thief.close();
      await nc.close();
    }
  }, 120_000);
});
