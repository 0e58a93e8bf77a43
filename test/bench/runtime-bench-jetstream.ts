// "JetStream in front" row of `npm run bench:runtime`: the runtime role's own path on a real
// nats-server — one PartitionPump per partition pulling undecoded journal messages, the
// worker-thread host decoding and applying them in device actors, rows to an in-memory sink (the
// I/O adapter replaced), acks only after the rows are "durable" — over readings published beforehand.
import { availableParallelism } from "node:os";
import type { RowsByTable } from "../../src/ports/row-sink.js";
import { N_DEVICES, N_READINGS, fmt, row } from "./runtime-bench-common.js";

export async function benchJetStream(): Promise<void> {
  const harness = await import("../harness/index.js").catch(() => undefined);
  if (harness === undefined) return row("JetStream in front", "skipped", "(test/harness not available)");
  const { connect } = await import("@nats-io/transport-node");
  const { ensureJournal } = await import("../../src/adapters/nats/streams.js");
  const { JournalPublisher } = await import("../../src/adapters/nats/journal-publisher.js");
  const { JetStreamPartitionSource } = await import("../../src/adapters/nats/partition-source.js");
  const { PartitionPump } = await import("../../src/node/partition-pump.js");
  const { encodeReading } = await import("../../src/domain/reading-codec.js");
  const { readingSubject } = await import("../../src/domain/subjects.js");
  const { partitionOf } = await import("../../src/domain/partition.js");
  const { WorkerPoolHost } = await import("../../src/runtime/worker-pool-host.js");
  const { MemorySnapshotStore } = await import("../../src/runtime/testing/memory-snapshot-store.js");
  const nats = await harness.startNats();
  const nc = await connect({ servers: nats.url });
  const JP = 8;
  const FETCH = 1000;
  const total = Math.min(N_READINGS, 300_000);
  try {
    await ensureJournal(nc, { stream: "READINGS", partitions: JP, duplicateWindowMs: 60_000, maxAgeMs: 3_600_000, maxAckPending: 8 * FETCH, replicas: 1 });
    const pub = JournalPublisher.create(nc, 1024);
    const t0p = performance.now();
    const inflight: Promise<unknown>[] = [];
    for (let k = 0; k < total; k++) {
      const d = k % N_DEVICES;
      const id = `dev-${d}`;
      const seq = Math.floor(k / N_DEVICES) + 1;
      inflight.push(pub.publish(readingSubject(partitionOf(id, JP), id), encodeReading({ deviceId: id, seq, tsMs: 1_700_000_000_000 + seq * 1000, metrics: { temp: 20 + Math.sin(seq + d) } }), `${id}:${seq}`));
      if (inflight.length >= 4096) await Promise.all(inflight.splice(0));
    }
    await Promise.all(inflight);
    const pubRate = total / ((performance.now() - t0p) / 1000);
    const workers = availableParallelism();
    const host = await WorkerPoolHost.create({
      logics: [{ module: new URL("../../actors/device/index.ts", import.meta.url).href, export: "createDeviceActor", args: [{}] }],
      decoder: { module: new URL("../../src/domain/journal-envelopes.ts", import.meta.url).href, export: "journalEnvelope" },
      snapshots: new MemorySnapshotStore(),
      partitions: JP,
      workers,
      snapshotEveryMessages: 10_000,
    });
    let stored = 0;
    let allStored: () => void = () => {};
    const done = new Promise<void>((r) => (allStored = r));
    const sink = {
      async write(rows: RowsByTable) {
        for (const r of rows.values()) stored += r.length;
        if (stored >= total) allStored();
      },
      async close() {},
    };
    const events = { event() {}, deadLetter: async () => {} };
    const t0 = performance.now();
    const pumps = await Promise.all(
      Array.from({ length: JP }, async (_, p) => {
        const source = await JetStreamPartitionSource.create(nc, "READINGS", p, FETCH);
        const pump = new PartitionPump(source, host, sink, events, { fetchBatch: FETCH, fetchExpiresMs: 200, maxBatchesInFlight: 4 }, { onCommitted: (part, s) => host.committed(part, s) });
        pump.start();
        return pump;
      }),
    );
    await done;
    const rate = total / ((performance.now() - t0) / 1000);
    await Promise.all(pumps.map((p) => p.stop()));
    const acked = pumps.reduce((a, p) => a + p.stats.acked, 0);
    row(
      `JetStream in front (${JP} partitions: pull consumers -> PartitionPump -> WorkerPoolHost ${workers} workers, journal bytes), device actor`,
      `${fmt(rate)} readings/s`,
      `(${fmt(total)} readings pre-published at ${fmt(pubRate)}/s, one JetStream message per reading; the runtime role's path with an in-memory row sink; ${fmt(acked)} acked)`,
    );
    await host.close();
  } finally {
    await nc.close();
    await nats.cleanup();
  }
}
