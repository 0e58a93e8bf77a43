import type { ShoalConfig } from "../../config/index.js";
import type { Logger } from "../../observability/logger.js";
import type { ActorHost } from "../../ports/actor-host.js";
import { connectNats } from "../../adapters/nats/connection.js";
import { ensureJournal } from "../../adapters/nats/streams.js";
import { JetStreamPartitionSource } from "../../adapters/nats/partition-source.js";
import { createEventPublisher } from "../../adapters/nats/event-publisher.js";
import { ClickHouseSink, migrate } from "../../adapters/clickhouse/index.js";
import { systemClock } from "../../adapters/system/clock.js";
import { PartitionPump, type PumpStats } from "../../ingest/partition-pump.js";
import { createSingleThreadHost } from "../../ingest/single-thread-host.js";
import { createDeviceActor } from "../../../actors/device/index.js";

/** A running runtime role. */
export interface RuntimeRole {
  /** Sum of the partition pumps' counters. */
  stats(): PumpStats & { rowsWritten: number; activeActors: number };
  close(): Promise<void>;
}

/**
 * The runtime role: ensures the journal and the ClickHouse schema, then runs one pump per owned
 * partition (all of them on a single node): journal → device actors → ClickHouse → ack.
 */
export async function startRuntimeRole(cfg: ShoalConfig, log: Logger, partitions?: readonly number[]): Promise<RuntimeRole> {
  const chOpts = { url: cfg.clickhouse.url, database: cfg.clickhouse.database, username: cfg.clickhouse.username, password: cfg.clickhouse.password };
  const report = await migrate(chOpts);
  log.info({ applied: report.applied, version: report.current }, "clickhouse schema ready");
  const nc = await connectNats(cfg.nats.url, `shoal-runtime-${cfg.nodeId}`);
  const maxAckPending = cfg.runtime.maxAckPending;
  await ensureJournal(nc, { stream: cfg.nats.stream, partitions: cfg.nats.partitions, duplicateWindowMs: cfg.nats.duplicateWindowMs, maxAgeMs: cfg.nats.maxAgeMs, maxAckPending });
  const sink = ClickHouseSink.create({ ...chOpts, flushRows: cfg.clickhouse.flushRows, flushIntervalMs: cfg.clickhouse.flushIntervalMs }, systemClock);
  const events = createEventPublisher(nc);
  const device = createDeviceActor({ threshold: cfg.detector.threshold, heartbeatTimeoutMs: cfg.runtime.heartbeatTimeoutMs, windowSize: cfg.detector.windowSize });
  const host: ActorHost & { active?: number } = createSingleThreadHost([device as never], systemClock, (evs) => {
    for (const e of evs) events.event(e.subject, e.data);
  });
  const owned = partitions ?? Array.from({ length: cfg.nats.partitions }, (_, p) => p);
  const pumps: PartitionPump[] = [];
  for (const p of owned) {
    const source = await JetStreamPartitionSource.create(nc, cfg.nats.stream, p, Math.min(cfg.runtime.fetchBatch, maxAckPending));
    const pump = new PartitionPump(
      source,
      host,
      sink,
      events,
      { fetchBatch: cfg.runtime.fetchBatch, fetchExpiresMs: 1000, maxBatchesInFlight: Math.max(2, Math.floor(maxAckPending / cfg.runtime.fetchBatch)) },
      (err) => log.warn({ partition: p, err: (err as Error).message }, "partition pump error"),
    );
    pump.start();
    pumps.push(pump);
  }
  log.info({ partitions: owned.length, clickhouse: cfg.clickhouse.url, nats: cfg.nats.url }, "runtime started");
  return {
    stats() {
      const s = { pulled: 0, acked: 0, deadLettered: 0, naks: 0, batches: 0, rowsWritten: sink.stats.rowsWritten, activeActors: host.active ?? 0 };
      for (const p of pumps) {
        s.pulled += p.stats.pulled;
        s.acked += p.stats.acked;
        s.deadLettered += p.stats.deadLettered;
        s.naks += p.stats.naks;
        s.batches += p.stats.batches;
      }
      return s;
    },
    async close() {
      await Promise.all(pumps.map((p) => p.stop()));
      await sink.close();
      await host.close();
      await nc.drain();
      log.info("runtime stopped");
    },
  };
}
