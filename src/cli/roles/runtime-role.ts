import type { NatsConnection } from "@nats-io/transport-node";
import type { ShoalConfig } from "../../config/index.js";
import { startTracing } from "../../observability/start-tracing.js";
import type { Tracing } from "../../ports/tracing.js";
import type { Logger } from "../../observability/logger.js";
import { connectNats } from "../../adapters/nats/connection.js";
import { ensureJournal } from "../../adapters/nats/streams.js";
import { JetStreamPartitionConsumers } from "../../adapters/nats/partition-consumers.js";
import { createEventPublisher } from "../../adapters/nats/event-publisher.js";
import { ClickHouseSink, createClickHouseClient, migrate, StoreRepair, type SinkStats } from "../../adapters/clickhouse/index.js";
import { createJetStreamRowLog, ROWS_STREAM } from "../../adapters/nats/row-log.js";
import { startReadModelJobs } from "../../adapters/clickhouse/read-model-jobs.js";
import { startDeadLetterConsumer } from "../../adapters/nats/dead-letter-consumer.js";
import type { IncidentReporter } from "../../ports/incidents.js";
import { roleIncidents, startJournalWatch } from "./journal-watch.js";
import { sleep, systemClock } from "../../base/clock.js";
import { BackgroundEffects, RuntimeNode, type RuntimeNodeStats } from "../../node/runtime-node.js";
import { journalEnvelope } from "../../domain/journal-envelopes.js";
import { KvSnapshotStore } from "../../adapters/nats/kv-snapshot-store.js";
import { createJournalReader } from "../../adapters/nats/journal-reader.js";
import { createInlineHost, WorkerPoolHost } from "../../runtime/index.js";
import type { BatchEffects, HostIntrospection, RuntimeHost } from "../../ports/actor-host.js";
import { createActorCacheService } from "../../adapters/keyv/actor-cache-service.js";
import { AsyncGatewayCaller, createGatewayClient } from "../../gateway/index.js";
import type { ModelGateway } from "../../ports/gateway.js";
import type { MetricsRegistry } from "../../ports/metrics.js";
import { STAGE_BUCKETS, stageHistogram } from "../../ports/stages.js";
import { createDeviceActor } from "../../../actors/device/index.js";
import type { DeviceSettings } from "../../../actors/device/index.js";
import { resolveDetectorParams, resolveJointParams, type DetectorParams, type JointParams } from "../../detector/index.js";
import { tokenNamed } from "../../access/index.js";

/** Counters of the runtime role. */
export type RuntimeStats = RuntimeNodeStats;

/** A running runtime role. */
export interface RuntimeRole {
  stats(): RuntimeStats;
  /** The ClickHouse sink's counters (rows written, inserts, failed inserts, rows waiting). */
  sinkStats(): Readonly<SinkStats>;
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
  /** Where this role reports incidents (journal, store): the one given in deps, or its own. */
  readonly incidents: IncidentReporter;
  close(): Promise<void>;
}

/** Optional collaborators of the runtime role. */
export interface RuntimeRoleDeps {
  /** Where failures of the journal and the store are reported (loud). Default: log lines only. */
  readonly incidents?: IncidentReporter;
  /**
   * The model gateway device actors call (in-process in the monolith). Default: a gRPC client of
   * `shoal gateway` at `gateway.client.address`; calls degrade to the local models when it is down.
   */
  readonly gateway?: ModelGateway;
  /** Registry for the runtime's own histograms (where readings wait). */
  readonly metrics?: MetricsRegistry;
  /** Where traced turns, calls and inserts go. Default: the role's own, from `tracing` (closed with it). */
  readonly tracing?: Tracing;
}

/** Which partitions to own at start: every one (single node), none (cluster mode assigns), or a list. */
export type InitialPartitions = "all" | "none" | readonly number[];

/** Device actor settings from configuration. */
export function deviceSettingsOf(cfg: ShoalConfig): Partial<DeviceSettings> {
  // Validates the detector parameters (RangeError naming the parameter and rule).
  const detectorParams = resolveDetectorParams(cfg.detector.params as Partial<DetectorParams>);
  const jointParams = resolveJointParams(cfg.detector.joint.params as Partial<JointParams>);
  const q = cfg.sequence;
  return {
    threshold: cfg.detector.threshold,
    heartbeatTimeoutMs: cfg.runtime.heartbeatTimeoutMs,
    windowSize: cfg.detector.windowSize,
    detectorParams,
    jointModel: cfg.detector.joint.enabled,
    jointParams,
    explainCache: cfg.actorCache.enabled,
    maxGaps: q.reorderWindow,
    maxSeqJump: q.maxJump,
    jumpConfirmations: q.jumpConfirmations,
    seqWrap: q.wrap,
    historicalAfterMs: q.historicalAfterMs,
    alertRules: cfg.alerts.enabled ? cfg.alerts.rules : [],
  };
}

/**
 * The runtime role: ensures the journal and the ClickHouse schema, then runs one pump per owned
 * partition: journal → device actors → ClickHouse → ack.
 */
export async function startRuntimeRole(cfg: ShoalConfig, log: Logger, initial: InitialPartitions = "all", deps: RuntimeRoleDeps = {}): Promise<RuntimeRole> {
  const chOpts = { url: cfg.clickhouse.url, database: cfg.clickhouse.database, username: cfg.clickhouse.username, password: cfg.clickhouse.password };
  const nc: NatsConnection = await connectNats(cfg.nats, `shoal-runtime-${cfg.nodeId}`);
  const incidents = deps.incidents ?? roleIncidents(nc, log, "runtime", deps.metrics);
  const tracing = deps.tracing ?? (await startTracing(cfg.tracing, "shoal-runtime"));
  const maxAckPending = cfg.runtime.maxAckPending;
  const journalOpts = { stream: cfg.nats.stream, partitions: cfg.nats.partitions, duplicateWindowMs: cfg.nats.duplicateWindowMs, maxAgeMs: cfg.nats.maxAgeMs, maxAckPending, replicas: cfg.nats.replicas };
  const snapshots = await KvSnapshotStore.create(nc, { bucket: cfg.nats.kvBucket, replicas: cfg.nats.replicas });
  // Effects of timer-driven turns (offline events) and of replies, committed by the node (held
  // until it exists: the host comes first).
  const background = new BackgroundEffects();
  // Independent start-up steps side by side (a restart's time counts: the worker threads load
  // while the schema and the journal are checked).
  const [report, , host] = await Promise.all([
    migrate(chOpts),
    ensureJournal(nc, journalOpts),
    createHost(cfg, { snapshots, journal: createJournalReader(nc, cfg.nats.stream, journalEnvelope), onEffects: background.commit }),
  ]);
  log.info({ applied: report.applied, version: report.current }, "clickhouse schema ready");
  const events = createEventPublisher(nc);
  const { sink, repair, rowLog } = await startStore(cfg, nc, log, incidents, deps.metrics);
  log.info({ host: cfg.runtime.host, workers: host instanceof WorkerPoolHost ? host.workers : 0 }, "actor host started");
  // Model gateway calls: bounded and non-blocking; a reply comes back to the actor as a message.
  const gatewayToken = tokenNamed(cfg.console.tokens, cfg.gateway.client.tokenName);
  if (deps.gateway === undefined && cfg.console.tokens.length > 0 && gatewayToken === undefined) {
    log.warn({ tokenName: cfg.gateway.client.tokenName }, "console.tokens has no entry named gateway.client.tokenName: the model gateway will refuse this runtime's calls");
  }
  const remote = deps.gateway === undefined ? createGatewayClient({ address: cfg.gateway.client.address, token: gatewayToken, tls: cfg.tls }) : undefined;
  const caller = new AsyncGatewayCaller({
    gateway: deps.gateway ?? remote!,
    maxInFlight: cfg.gateway.client.maxInFlight,
    maxQueue: cfg.gateway.client.maxQueue,
    timeoutMs: cfg.gateway.client.timeoutMs,
  });
  // Per-actor cache (service "cache"): a Keyv namespace per actor, memory or Redis.
  if (cfg.actorCache.store === "redis" && cfg.redis.url === undefined) throw new RangeError("actorCache.store is redis but redis.url is not set");
  let cacheErrors = 0;
  const actorCache = await createActorCacheService({
    store: cfg.actorCache.store === "redis" ? cfg.redis.url : "memory",
    redisPassword: cfg.redis.password,
    ttlMs: cfg.actorCache.ttlMs,
    maxEntriesPerActor: cfg.actorCache.maxEntriesPerActor,
    opTimeoutMs: cfg.actorCache.opTimeoutMs,
    onError: (err) => {
      if (cacheErrors++ % 1000 === 0) log.warn({ err: (err as Error).message, count: cacheErrors }, "actor cache error (lookups count as misses)");
    },
  });
  const node = new RuntimeNode(
    { host, consumers: await JetStreamPartitionConsumers.create(nc, journalOpts), sink, events, snapshots, gateway: caller, actorCache, clock: systemClock, log, rowsWritten: () => sink.stats.rowsWritten, ...(deps.metrics ? { stages: stageHistogram(deps.metrics) } : {}), ...(tracing.enabled ? { tracing } : {}) },
    {
      partitions: cfg.nats.partitions,
      fetchBatch: cfg.runtime.fetchBatch,
      maxAckPending,
      maxInFlightBytes: cfg.runtime.maxInFlightBytes,
      recoveryConcurrency: cfg.runtime.recoveryConcurrency,
      timerCheckpointEveryMs: cfg.runtime.timerCheckpointEveryMs,
      handoffCallWaitMs: Math.min(cfg.gateway.client.timeoutMs + 1000, HANDOFF_CALL_WAIT_MS),
    },
  );
  background.attach(node);
  // A journal that lost streams, consumers or the bucket: reported, re-created, partitions restarted.
  const bucket = { bucket: cfg.nats.kvBucket, replicas: cfg.nats.replicas };
  const watchdog = startJournalWatch(nc, log, incidents, { journal: journalOpts, bucket, partitions: () => node.owned(), received: (p) => node.receivedSeq(p), skipped: (p) => node.skippedDeliveries(p), acked: (p) => node.ackedMessages(p), onReset: (r, reset) => node.restartPartitions(r, reset), ...(rowLog ? { extra: { streams: [ROWS_STREAM], ensure: rowLog.ensureStream } } : {}) });
  // The read model (docs/adr/0013): rollups reconciled by the owner of partition 0, retention, the DLQ stream copied into dead_letters.
  const readModel = startReadModelJobs(createClickHouseClient(chOpts), cfg.clickhouse, { clock: systemClock, log, reconcileHere: () => node.owned().includes(0) });
  const deadLetters = await startDeadLetterConsumer(nc, sink, log);
  const start = initial === "all" ? Array.from({ length: cfg.nats.partitions }, (_, p) => p) : initial === "none" ? [] : initial;
  await node.start(start);
  log.info({ partitions: start.length, clickhouse: cfg.clickhouse.url, nats: cfg.nats.url }, "runtime started");
  return {
    stats: () => node.stats(),
    sinkStats: () => ({ ...sink.stats }),
    incidents,
    owned: () => node.owned(),
    acquire: (p) => node.acquire(p),
    release: (p) => node.release(p),
    reconfigure(next, version = "") {
      let settings: Partial<DeviceSettings>;
      try {
        settings = deviceSettingsOf(next);
      } catch (e) {
        log.error({ err: (e as Error).message }, "configuration change rejected by the device actors; keeping the previous settings");
        return;
      }
      host.configure("device", settings, version).then((fx) => node.commitEffects(fx), (e: Error) => log.error({ err: e.message, version }, "configuration change not applied to the device actors"));
      host.setLimits({ maxActiveActors: next.runtime.maxActiveActors, passivateAfterMs: next.runtime.passivateAfterMs }).catch((e: Error) => log.error({ err: e.message }, "runtime limits not applied"));
    },
    introspect: () => host.introspect(),
    async restartWorker(index) {
      if (!(host instanceof WorkerPoolHost)) throw new RangeError("this runtime runs its actors in-thread (runtime.host: inline): there is no worker thread to restart");
      await host.killWorker(index);
    },
    async close() {
      await watchdog.stop();
      await Promise.all([readModel.close(), deadLetters.close()]);
      await node.close();
      if (deps.tracing === undefined) await tracing.close().catch(() => {});
      // Let in-flight gateway calls answer (bounded: a dead gateway must not hold up shutdown).
      await Promise.race([caller.drain(), sleep(5000)]);
      remote?.close();
      await actorCache.close();
      await repair?.close();
      await sink.close();
      rowLog?.close();
      await host.close();
      await snapshots.close();
      await nc.drain();
      log.info("runtime stopped");
    },
  };
}

/**
 * The ClickHouse sink, with the row log and the repair that rebuilds what ClickHouse lost from it
 * when `clickhouse.repair.enabled` (docs/adr/0012-row-log-repair.md).
 */
async function startStore(
  cfg: ShoalConfig,
  nc: NatsConnection,
  log: Logger,
  incidents: IncidentReporter,
  metrics: MetricsRegistry | undefined,
): Promise<{ sink: ClickHouseSink; repair: StoreRepair | undefined; rowLog: Awaited<ReturnType<typeof createJetStreamRowLog>> | undefined }> {
  const ch = cfg.clickhouse;
  const chOpts = { url: ch.url, database: ch.database, username: ch.username, password: ch.password };
  const onFeedLoss = (reason: string, rows: number) => log.warn({ reason, rows }, "rollup feed: rows not fed (the reconciler restores the rollups)");
  const sinkOpts = { ...chOpts, flushRows: ch.flushRows, flushIntervalMs: ch.flushIntervalMs, onFeedLoss, ...(metrics ? { onInsert: insertHistogram(metrics) } : {}) };
  if (!ch.repair.enabled) return { sink: ClickHouseSink.create(sinkOpts, systemClock), repair: undefined, rowLog: undefined };
  const rowLog = await createJetStreamRowLog(nc, { writer: cfg.nodeId, keepMs: ch.repair.keepMs, replicas: cfg.nats.replicas });
  const sink = ClickHouseSink.create(sinkOpts, systemClock, rowLog);
  const repair = new StoreRepair(
    createClickHouseClient(chOpts),
    rowLog,
    { clock: systemClock, log, incidents, lastAcceptedInsertAt: () => sink.lastAcceptedInsertAt, loggedSoFar: () => sink.loggedSoFar() },
    { node: cfg.nodeId, lookbackMs: ch.repair.lookbackMs, checkEveryMs: ch.repair.checkEveryMs, rollups: { notBeforeMs: () => (ch.retention.checkEveryMs > 0 && ch.retention.keepMs.readings > 0 ? Date.now() - ch.retention.keepMs.readings + 3_600_000 : -Infinity) } },
  );
  repair.start();
  return { sink, repair, rowLog };
}

/** How long the sink's inserts take (`shoal_sink_insert_seconds`): ClickHouse's share of a reading's wait (ADR 0009). */
function insertHistogram(metrics: MetricsRegistry): (ms: number) => void {
  const h = metrics.histogram("shoal_sink_insert_seconds", "How long the ClickHouse sink's accepted inserts took (the accepted attempt, start to answer), seconds", [], STAGE_BUCKETS);
  return (ms) => h.observe({}, ms / 1000);
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
    // Traced turns (docs/adr/0023-tracing.md): off without an endpoint, so no turn is timed.
    traceTurns: cfg.tracing.endpoint !== "",
    traceKeptTurns: cfg.tracing.endpoint !== "" && cfg.tracing.anomalies,
  };
  if (cfg.runtime.host === "inline") return createInlineHost({ ...common, logics: [createDeviceActor(settings)], decode: journalEnvelope, encodeRows: true });
  return WorkerPoolHost.create({
    ...common,
    logics: [{ module: new URL(`../../../actors/device/index${EXT}`, import.meta.url).href, export: "createDeviceActor", args: [settings] }],
    decoder: { module: new URL(`../../domain/journal-envelopes${EXT}`, import.meta.url).href, export: "journalEnvelope" },
    ...(cfg.runtime.workers > 0 ? { workers: cfg.runtime.workers } : {}),
    youngGenerationMb: cfg.runtime.youngGenerationMb,
  });
}
