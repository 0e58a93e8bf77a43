import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { startNats, type ServiceHandle } from "../harness/index.js";
import { DLQ_STREAM, ensureJournal } from "../../src/adapters/nats/streams.js";
import { KvSnapshotStore } from "../../src/adapters/nats/kv-snapshot-store.js";
import { createNatsJournalRepair } from "../../src/adapters/nats/journal-health.js";
import { partitionConsumerName } from "../../src/domain/subjects.js";
import { sleep } from "../../src/base/clock.js";

/**
 * Starting the journal changes nothing that is already right: every role start (and every repair
 * round of the journal watchdog) calls ensureJournal and opens the snapshot bucket; an update of a
 * stream rewrites its metadata on the server's disk and, for consumers, can reset delivery state.
 * Proof on a real nats-server: the streams' and consumers' creation times and configs, and the
 * mtimes of every `meta.inf` in the store folder, are the same after a second start and a repair.
 */
const PARTITIONS = 8;
const BUCKET = "shoal_snapshots";
const journal = { stream: "READINGS", partitions: PARTITIONS, duplicateWindowMs: 120_000, maxAgeMs: 86_400_000, maxAckPending: 20_000, replicas: 1 };

describe("journal start is idempotent", () => {
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

  /** Creation times and configs of the streams and consumers, and the meta.inf mtimes on disk. */
  async function state() {
    const jsm = await jetstreamManager(nc);
    const streams: Record<string, unknown> = {};
    for (const name of [journal.stream, DLQ_STREAM, `KV_${BUCKET}`]) {
      const i = await jsm.streams.info(name);
      streams[name] = { created: i.created, config: i.config };
    }
    const consumers: Record<string, unknown> = {};
    for (let p = 0; p < PARTITIONS; p++) {
      const i = await jsm.consumers.info(journal.stream, partitionConsumerName(p));
      consumers[i.name] = { created: i.created, config: i.config };
    }
    return { streams, consumers, metaMtimes: await metaMtimes(join(nats.dataDir, "jetstream")) };
  }

  it("a second start and a watchdog repair leave streams, consumers, bucket and their files untouched", async () => {
    await ensureJournal(nc, journal);
    await KvSnapshotStore.create(nc, { bucket: BUCKET, replicas: 1 });
    const before = await state();
    // Every stream and consumer has its meta.inf on disk (the comparison below is not vacuous).
    expect(Object.keys(before.metaMtimes).length).toBeGreaterThanOrEqual(3 + PARTITIONS);
    await sleep(1100); // past the file system's mtime resolution

    await ensureJournal(nc, journal);
    await KvSnapshotStore.create(nc, { bucket: BUCKET, replicas: 1 });
    await createNatsJournalRepair(nc, journal, { bucket: BUCKET, replicas: 1 }).repair();
    const after = await state();

    expect(after.streams).toEqual(before.streams);
    expect(after.consumers).toEqual(before.consumers);
    expect(after.metaMtimes).toEqual(before.metaMtimes);
  });

  it("a setting that differs is updated (and only then the file is rewritten)", async () => {
    const before = await state();
    await sleep(1100);
    await ensureJournal(nc, { ...journal, maxAckPending: 10_000 });
    const after = await state();
    const name = partitionConsumerName(0);
    expect((after.consumers[name] as { config: { max_ack_pending: number } }).config.max_ack_pending).toBe(10_000);
    const changed = Object.keys(after.metaMtimes).filter((f) => after.metaMtimes[f] !== before.metaMtimes[f]);
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.every((f) => f.includes("/obs/"))).toBe(true);
    expect(after.streams).toEqual(before.streams);
  });
});

/** mtime (ms) of every meta.inf under `dir`, by path relative to it. */
async function metaMtimes(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || e.name !== "meta.inf") continue;
    const path = join(e.parentPath, e.name);
    out[path.slice(dir.length)] = (await stat(path)).mtimeMs;
  }
  return out;
}
