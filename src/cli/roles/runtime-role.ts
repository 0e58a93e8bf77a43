import type { NatsConnection } from "@nats-io/transport-node";
import type { ShoalConfig } from "../../config/index.js";
import type { Logger } from "../../observability/logger.js";
import { connectNats } from "../../adapters/nats/connection.js";
import { ensureJournal, rewindPartitionConsumer } from "../../adapters/nats/streams.js";
import { JetStreamPartitionSource } from "../../adapters/nats/partition-source.js";
import { createEventPublisher } from "../../adapters/nats/event-publisher.js";
import { ClickHouseSink, migrate } from "../../adapters/clickhouse/index.js";
import { systemClock } from "../../adapters/system/clock.js";
import { PartitionPump, type PumpStats } from "../../ingest/partition-pump.js";
import { journalEnvelope } from "../../ingest/envelopes.js";
import { KvSnapshotStore } from "../../adapters/nats/kv-snapshot-store.js";
import { createJournalReader } from "../../adapters/nats/journal-reader.js";
import { createInlineHost, WorkerPoolHost } from "../../runtime/index.js";
import type { BatchEffects, HostIntrospection, RuntimeHost } from "../../ports/actor-host.js";
import { CallRouter } from "./runtime-calls.js";
import { forEachBounded } from "../../base/concurrency.js";
import { TimerCheckpoints } from "./timer-checkpoints.js";
import { createActorCacheService } from "../../adapters/keyv/actor-cache-service.js";
import { jetstreamManager } from "@nats-io/jetstream";
import { AsyncGatewayCaller, createGatewayClient } from "../../gateway/index.js";
import type { ModelGateway } from "../../ports/gateway.js";
import { partitionConsumerName } from "../../domain/subjects.js";
import { createDeviceActor } from "../../../actors/device/index.js";
import type { DeviceSettings } from "../../../actors/device/index.js";
import { resolveDetectorParams, type DetectorParams } from "../../../actors/detector/index.js";

/** Counters of the runtime role. */
export type RuntimeStats = PumpStats & { rowsWritten: number; activeActors: number; ownedPartitions: number };

/** A running runtime role. */
export interface RuntimeRole {
  stats(): RuntimeStats;
  /** Partitions this node currently pulls. */
  owned(): number[];
  /** Start pulling partition `p` (after its lease was acquired). Idempotent. */
  acquire(p: number): Promise<void>;
  /**
   * Hand partition `p` off gracefully: stop pulling, wait until every delivered batch is durable and
   * acked, forget its actors (the next owner restores them), then resolve (the lease may be released).
   */
  release(p: number): Promise<void>;
  /**
   * Apply a live configuration change (hot reload): device actor settings on every worker thread
   * (each active actor gets a `config` message) and the runtime limits. An invalid change is
   * logged and the previous settings stay. `version` shows up in `introspect()` per worker.
   */
  reconfigure(cfg: ShoalConfig, version?: string): void;
  /** Live counters of the actor host, per worker thread. */
  introspect(): Promise<HostIntrospection>;
  /**
   * Kill worker thread `index` as if it crashed (operators, chaos tests): it is replaced and its
   * partitions are rebuilt; nothing is lost. RangeError for a bad index or an in-thread host.
   */
  restartWorker(index: number): Promise<void>;
  close(): Promise<void>;
}

/** Optional collaborators of the runtime role. */
export interface RuntimeRoleDeps {
  /**
   * The model gateway device actors call (in-process in the monolith). Default: a gRPC client of
   * `shoal gateway` at `gateway.client.address`; calls degrade to the local models when it is down.
   */
  readonly gateway?: ModelGateway;
}

/** Which partitions to own at start: every one (single node), none (cluster mode assigns), or a list. */
export type InitialPartitions = "all" | "none" | readonly number[];

/** Device actor settings from configuration. */
export function deviceSettingsOf(cfg: ShoalConfig): Partial<DeviceSettings> {
  // Validates the detector parameters (RangeError naming the parameter and rule).
  const detectorParams = resolveDetectorParams(cfg.detector.params as Partial<DetectorParams>);
  return { threshold: cfg.detector.threshold, heartbeatTimeoutMs: cfg.runtime.heartbeatTimeoutMs, windowSize: cfg.detector.windowSize, detectorParams, explainCache: cfg.actorCache.enabled };
}

/**
 * The runtime role: ensures the journal and the ClickHouse schema, then runs one pump per owned
 * partition: journal → device actors → ClickHouse → ack.
 */
export async function startRuntimeRole(cfg: ShoalConfig, log: Logger, initial: InitialPartitions = "all", deps: RuntimeRoleDeps = {}): Promise<RuntimeRole> {
  const chOpts = { url: cfg.clickhouse.url, database: cfg.clickhouse.database, username: cfg.clickhouse.username, password: cfg.clickhouse.password };
  const nc: NatsConnection = await connectNats(cfg.nats.url, `shoal-runtime-${cfg.nodeId}`);
  const maxAckPending = cfg.runtime.maxAckPending;
  const journalOpts = { stream: cfg.nats.stream, partitions: cfg.nats.partitions, duplicateWindowMs: cfg.nats.duplicateWindowMs, maxAgeMs: cfg.nats.maxAgeMs, maxAckPending };
  const snapshots = await KvSnapshotStore.create(nc, { bucket: cfg.nats.kvBucket, replicas: cfg.nats.replicas });
  // Effects of timer-driven turns (offline events) and of replies: committed by the call router
  // (none can come before it exists: actors are created by `acquire`, after it; kept if one did).
  const early: BatchEffects[] = [];
  const background = { commit: (fx: BatchEffects): void => void early.push(fx) };
  const onTimerEffects = (fx: BatchEffects) => background.commit(fx);
  // Independent start-up steps side by side (a restart's time counts: the worker threads load
  // while the schema and the journal are checked).
  const [report, , host] = await Promise.all([
    migrate(chOpts),
    ensureJournal(nc, journalOpts),
    createHost(cfg, { snapshots, journal: createJournalReader(nc, cfg.nats.stream, journalEnvelope), onEffects: onTimerEffects }),
  ]);
  log.info({ applied: report.applied, version: report.current }, "clickhouse schema ready");
  const sink = ClickHouseSink.create({ ...chOpts, flushRows: cfg.clickhouse.flushRows, flushIntervalMs: cfg.clickhouse.flushIntervalMs }, systemClock);
  const events = createEventPublisher(nc);
  log.info({ host: cfg.runtime.host, workers: host instanceof WorkerPoolHost ? host.workers : 0 }, "actor host started");
  const jsm = await jetstreamManager(nc);
  // Model gateway calls: bounded and non-blocking; a reply comes back to the actor as a message.
  const remote = deps.gateway === undefined ? createGatewayClient({ address: cfg.gateway.client.address }) : undefined;
  const caller = new AsyncGatewayCaller({
    gateway: deps.gateway ?? remote!,
    maxInFlight: cfg.gateway.client.maxInFlight,
    maxQueue: cfg.gateway.client.maxQueue,
    timeoutMs: cfg.gateway.client.timeoutMs,
  });
  // Per-actor cache (service "cache"): a Keyv namespace per actor, memory or Redis.
  if (cfg.actorCache.store === "redis" && cfg.redis.url === undefined) throw new RangeError("actorCache.store is redis but redis.url is not set");
  let cacheErrors = 0;
  const actorCache = createActorCacheService({
    store: cfg.actorCache.store === "redis" ? cfg.redis.url : "memory",
    ttlMs: cfg.actorCache.ttlMs,
    maxEntriesPerActor: cfg.actorCache.maxEntriesPerActor,
    opTimeoutMs: cfg.actorCache.opTimeoutMs,
    onError: (err) => {
      if (cacheErrors++ % 1000 === 0) log.warn({ err: (err as Error).message, count: cacheErrors }, "actor cache error (lookups count as misses)");
    },
  });
  const calls = new CallRouter({ host, caller, actorCache, events, sink, partitions: cfg.nats.partitions, log });
  background.commit = (fx) => calls.commit(fx);
  for (const fx of early.splice(0)) calls.commit(fx);
  const pumps = new Map<number, PartitionPump>();
  const retired: PumpStats = { pulled: 0, acked: 0, deadLettered: 0, naks: 0, batches: 0 };

  async function acquire(p: number): Promise<void> {
    if (pumps.has(p)) return;
    if (!Number.isInteger(p) || p < 0 || p >= cfg.nats.partitions) throw new RangeError(`partition ${p} is not in [0, ${cfg.nats.partitions})`);
    // Rebuild the partition's actors: snapshots + replay of the journal from the partition's
    // checkpoint up to what the durable consumer has acknowledged (effects suppressed).
    const info = await jsm.consumers.info(cfg.nats.stream, partitionConsumerName(p));
    if (info.num_ack_pending > 0) {
      // A previous owner died holding unacked messages: take them back now, in order.
      await rewindPartitionConsumer(jsm, journalOpts, p, info.ack_floor.stream_seq);
      log.info({ partition: p, unacked: info.num_ack_pending, ackFloor: info.ack_floor.stream_seq }, "partition consumer rewound to its ack floor");
    }
    await host.recover(p, info.ack_floor.stream_seq);
    // Timers the previous owner handed over, or kept by its last timer checkpoint if it crashed
    // (a device silent since still goes offline); time since they were read taken off.
    const timers = await snapshots.takeTimers(p, systemClock.now());
    if (timers.length > 0) {
      await host.restoreTimers(p, timers);
      log.info({ partition: p, timers: timers.length }, "timers kept by the previous owner armed");
    }
    const source = await JetStreamPartitionSource.create(nc, cfg.nats.stream, p, Math.min(cfg.runtime.fetchBatch, maxAckPending));
    const pump = new PartitionPump(
      source,
      host,
      sink,
      events,
      { fetchBatch: cfg.runtime.fetchBatch, fetchExpiresMs: 1000, maxBatchesInFlight: Math.max(2, Math.floor(maxAckPending / cfg.runtime.fetchBatch)) },
      {
        onError: (err) => log.warn({ partition: p, err: (err as Error).message }, "partition pump error"),
        onCommitted: (partition, streamSeq) => host.committed(partition, streamSeq),
        onCalls: (c) => calls.dispatch(c),
      },
    );
    pumps.set(p, pump);
    pump.start();
    // Taken timers are kept again at once (not only at the next round): a crash soon after keeps them.
    if (timers.length > 0) void timerCheckpoints.save(p);
  }

  async function release(p: number): Promise<void> {
    const pump = pumps.get(p);
    if (pump === undefined) return;
    pumps.delete(p);
    await timerCheckpoints.quiesce(p);
    await pump.stop();
    for (const k of Object.keys(retired) as Array<keyof PumpStats>) retired[k] += pump.stats[k];
    // Replies to the partition's calls (model gateway, cache) come back as messages to its actors:
    // let them arrive here before the actors are forgotten (bounded: the gateway client's timeout,
    // at most HANDOFF_CALL_WAIT_MS, so a slow LLM cannot stall a rebalance or a shutdown).
    const unanswered = await calls.drained(p, Math.min(cfg.gateway.client.timeoutMs + 1000, HANDOFF_CALL_WAIT_MS));
    if (unanswered > 0) log.warn({ partition: p, unanswered }, "handing off with calls unanswered; their replies will be dropped and counted");
    // Hand-off: committed snapshots and the partition checkpoint are made durable, then the
    // partition's actors are forgotten here; the next owner recovers them from the store.
    const releasedAt = systemClock.now();
    const timers = await host.releasePartition(p);
    // Its actors' pending timers (heartbeats) go to the next owner through the store.
    await snapshots.putTimers(p, timers, releasedAt).catch((e: Error) => log.warn({ partition: p, timers: timers.length, err: e.message }, "timers of a released partition not handed over"));
  }

  // Pending timers of owned partitions, kept in the store now and then so a crash does not lose them.
  const timerCheckpoints = new TimerCheckpoints(
    {
      pendingTimers: (p) => host.pendingTimers(p),
      putTimers: (p, timers, at) => snapshots.putTimers(p, timers, at),
      owned: () => [...pumps.keys()],
      clock: systemClock,
      onError: (p, err) => log.warn({ partition: p, err: err.message }, "timer checkpoint failed; the next one retries"),
    },
    cfg.runtime.timerCheckpointEveryMs,
  );

  // Active actors for the counters (introspection is async; refreshed every second).
  let active = 0;
  const introspectTimer = setInterval(() => {
    host.introspect().then(
      (i) => (active = i.workers.reduce((a, w) => a + Object.values(w.activeByType).reduce((x, y) => x + y, 0), 0)),
      () => {},
    );
  }, 1000);
  introspectTimer.unref();
  const start = initial === "all" ? Array.from({ length: cfg.nats.partitions }, (_, p) => p) : initial === "none" ? [] : initial;
  // Concurrent and bounded; a partition whose recovery fails (journal or store unavailable) is
  // retried with backoff instead of failing the start.
  await forEachBounded(start, cfg.runtime.recoveryConcurrency, async (p) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await acquire(p);
      } catch (e) {
        const delayMs = Math.min(5000, 250 * 2 ** attempt);
        log.warn({ partition: p, attempt: attempt + 1, delayMs, err: describe(e) }, "partition not taken; retrying");
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  });
  timerCheckpoints.start();
  log.info({ partitions: start.length, clickhouse: cfg.clickhouse.url, nats: cfg.nats.url }, "runtime started");
  return {
    stats() {
      const s: RuntimeStats = { ...retired, deadLettered: retired.deadLettered + calls.stats.deadLettered + calls.stats.rowsDeadLettered, rowsWritten: sink.stats.rowsWritten, activeActors: active, ownedPartitions: pumps.size };
      for (const p of pumps.values()) {
        s.pulled += p.stats.pulled;
        s.acked += p.stats.acked;
        s.deadLettered += p.stats.deadLettered;
        s.naks += p.stats.naks;
        s.batches += p.stats.batches;
      }
      return s;
    },
    owned: () => [...pumps.keys()].sort((a, b) => a - b),
    acquire,
    release,
    reconfigure(next, version = "") {
      let settings: Partial<DeviceSettings>;
      try {
        settings = deviceSettingsOf(next);
      } catch (e) {
        log.error({ err: (e as Error).message }, "configuration change rejected by the device actors; keeping the previous settings");
        return;
      }
      host.configure("device", settings, version).then((fx) => calls.commit(fx), (e: Error) => log.error({ err: e.message, version }, "configuration change not applied to the device actors"));
      host.setLimits({ maxActiveActors: next.runtime.maxActiveActors, passivateAfterMs: next.runtime.passivateAfterMs }).catch((e: Error) => log.error({ err: e.message }, "runtime limits not applied"));
    },
    introspect: () => host.introspect(),
    async restartWorker(index) {
      if (!(host instanceof WorkerPoolHost)) throw new RangeError("this runtime runs its actors in-thread (runtime.host: inline): there is no worker thread to restart");
      await host.killWorker(index);
    },
    async close() {
      await timerCheckpoints.stop();
      await Promise.all([...pumps.keys()].map((p) => release(p)));
      clearInterval(introspectTimer);
      // Let in-flight gateway calls answer (bounded: a dead gateway must not hold up shutdown).
      await Promise.race([caller.drain(), new Promise((r) => setTimeout(r, 5000).unref())]);
      remote?.close();
      await actorCache.close();
      await sink.close();
      await host.close();
      await snapshots.close();
      await nc.drain();
      log.info("runtime stopped");
    },
  };
}

/** An error's message with its causes. */
function describe(e: unknown): string {
  const err = e as Error;
  return err.cause instanceof Error ? `${err.message} (cause: ${describe(err.cause)})` : String(err?.message ?? e);
}

const EXT = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

/**
 * The actor host of the runtime role: worker threads (default; `runtime.workers`, 0 = one per
 * core), each decoding its partitions' journal bytes, or in-thread (`runtime.host: inline`).
 */
/** Longest a partition handoff waits for its actors' outstanding calls. */
const HANDOFF_CALL_WAIT_MS = 10_000;

async function createHost(cfg: ShoalConfig, io: { snapshots: KvSnapshotStore; journal: ReturnType<typeof createJournalReader>; onEffects: (fx: BatchEffects) => void }): Promise<RuntimeHost> {
  const settings = deviceSettingsOf(cfg);
  const common = {
    ...io,
    clock: systemClock,
    partitions: cfg.nats.partitions,
    mailboxCapacity: cfg.runtime.mailboxCapacity,
    maxActiveActors: cfg.runtime.maxActiveActors,
    passivateAfterMs: cfg.runtime.passivateAfterMs,
    snapshotEveryMessages: cfg.runtime.snapshotEveryMessages,
    snapshotEveryMs: cfg.runtime.snapshotEveryMs,
    maxAttempts: cfg.runtime.maxAttempts,
  };
  if (cfg.runtime.host === "inline") return createInlineHost({ ...common, logics: [createDeviceActor(settings)], decode: journalEnvelope, encodeRows: true });
  return WorkerPoolHost.create({
    ...common,
    logics: [{ module: new URL(`../../../actors/device/index${EXT}`, import.meta.url).href, export: "createDeviceActor", args: [settings] }],
    decoder: { module: new URL(`../../ingest/envelopes${EXT}`, import.meta.url).href, export: "journalEnvelope" },
    ...(cfg.runtime.workers > 0 ? { workers: cfg.runtime.workers } : {}),
    youngGenerationMb: cfg.runtime.youngGenerationMb,
  });
}
