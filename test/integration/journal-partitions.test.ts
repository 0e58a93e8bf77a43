import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { startNats, type ServiceHandle } from "../harness/index.js";
import { ensureJournal, ensurePartitionConsumer, journalDescription, readJournalPartitions } from "../../src/adapters/nats/streams.js";
import { resolveConfig } from "../../src/config/index.js";
import { followJournalPartitions } from "../../src/cli/journal-partitions.js";
import { READINGS_PREFIX } from "../../src/domain/subjects.js";

/**
 * `nats.partitions` is fixed per journal: a device's readings are in the partition its id hashed to
 * under the count they were written with. A role started with another count is refused with what to
 * do, on a real nats-server, before it creates or changes anything: for a journal that records its
 * count, and for one from before the record (its consumers tell). A role whose configuration does
 * not set the count follows the journal's instead.
 */
const base = { duplicateWindowMs: 120_000, maxAgeMs: 86_400_000, maxAckPending: 20_000, replicas: 1 };

describe("the journal's partition count", () => {
  let nats: ServiceHandle;
  let nc: NatsConnection;
  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.cleanup();
  });

  it("is recorded on the stream, and a start with another count is refused without touching the journal", async () => {
    const journal = { ...base, stream: "RECORDED", partitions: 8 };
    await ensureJournal(nc, journal);
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info("RECORDED")).config.description).toBe(journalDescription(8));

    await expect(ensureJournal(nc, { ...journal, partitions: 16 })).rejects.toThrow(
      "the journal (stream RECORDED) was written with 8 partitions, this configuration has nats.partitions 16: set nats.partitions to 8 (SHOAL__NATS__PARTITIONS=8)",
    );
    await expect(ensureJournal(nc, { ...journal, partitions: 4 })).rejects.toMatchObject({ code: "config" });
    const consumers: string[] = [];
    for await (const c of jsm.consumers.list("RECORDED")) consumers.push(c.name);
    expect(consumers.sort()).toEqual(Array.from({ length: 8 }, (_, p) => `shoal-p00${p}`));
    // The same count starts as before.
    await ensureJournal(nc, journal);
    await jsm.streams.delete("RECORDED");
  });

  it("of a journal from before the record is read from its consumers, and the record is added on a matching start", async () => {
    const jsm = await jetstreamManager(nc);
    // As ensureJournal created it before: no description, one consumer per partition (64 of them).
    await jsm.streams.add({ name: "OLDER", subjects: [`${READINGS_PREFIX}.>`] });
    const older = { ...base, stream: "OLDER", partitions: 64 };
    for (let p = 0; p < 64; p++) await ensurePartitionConsumer(jsm, older, p);

    await expect(ensureJournal(nc, { ...older, partitions: 16 })).rejects.toThrow("was written with at least 64 partitions, this configuration has nats.partitions 16");
    expect((await jsm.streams.info("OLDER")).config.description ?? "").toBe("");

    await ensureJournal(nc, older);
    expect((await jsm.streams.info("OLDER")).config.description).toBe(journalDescription(64));
    await expect(ensureJournal(nc, { ...older, partitions: 128 })).rejects.toThrow("was written with 64 partitions, this configuration has nats.partitions 128");
    await jsm.streams.delete("OLDER");
  });

  it("is read as recorded, from the consumers of an older journal, and not at all without a journal", async () => {
    await ensureJournal(nc, { ...base, stream: "READ8", partitions: 8 });
    expect(await readJournalPartitions(nc, "READ8")).toBe(8);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete("READ8");
    await jsm.streams.add({ name: "READOLD", subjects: [`${READINGS_PREFIX}.>`] });
    for (let p = 0; p < 4; p++) await ensurePartitionConsumer(jsm, { ...base, stream: "READOLD", partitions: 4 }, p);
    expect(await readJournalPartitions(nc, "READOLD")).toBe(4);
    await jsm.streams.add({ name: "READNONE", subjects: ["readnone.>"] });
    expect(await readJournalPartitions(nc, "READNONE")).toBeUndefined();
    expect(await readJournalPartitions(nc, "NO_SUCH_STREAM")).toBeUndefined();
    for (const s of ["READOLD", "READNONE"]) await jsm.streams.delete(s);
  });

  it("is the journal's for a role whose configuration does not set it, and stays refused for one that does", async () => {
    // A journal as the default of 64 made it (no record), then a start with the shipped configuration.
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "UPGRADED", subjects: [`${READINGS_PREFIX}.>`] });
    for (let p = 0; p < 64; p++) await ensurePartitionConsumer(jsm, { ...base, stream: "UPGRADED", partitions: 64 }, p);
    const env = { SHOAL__NATS__URL: nats.url, SHOAL__NATS__STREAM: "UPGRADED" };
    const log = { info: () => {}, warn: () => {} };
    const followed = await followJournalPartitions(env, resolveConfig({ env }), log);
    const cfg = resolveConfig({ env: followed }).config;
    expect(cfg.nats.partitions).toBe(64);
    await ensureJournal(nc, { ...base, stream: cfg.nats.stream, partitions: cfg.nats.partitions });
    expect((await jsm.streams.info("UPGRADED")).config.description).toBe(journalDescription(64));

    const chosen = { ...env, SHOAL__NATS__PARTITIONS: "16" };
    const kept = resolveConfig({ env: await followJournalPartitions(chosen, resolveConfig({ env: chosen }), log) }).config;
    expect(kept.nats.partitions).toBe(16);
    await expect(ensureJournal(nc, { ...base, stream: kept.nats.stream, partitions: kept.nats.partitions })).rejects.toThrow("was written with 64 partitions, this configuration has nats.partitions 16");
    await jsm.streams.delete("UPGRADED");
  });
});
