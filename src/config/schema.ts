import { z } from "zod";
import { gatewayConfigSchema } from "./schema-gateway.js";
import { duration, durationIn, posInt, size, sizeIn, typeName, url } from "./schema-values.js";
import { clickhouseSchema, querySchema, vectorsSchema } from "./schema-read-side.js";
import { alertsSchema, reportsSchema } from "./schema-alerts.js";
import { consoleSchema } from "./schema-console.js";
import { commandsSchema, registrySchema } from "./schema-devices.js";
import { tlsSchema } from "./schema-tls.js";
import { tracingSchema } from "./schema-tracing.js";

export { typeName };

/**
 * The one schema of the whole Shoal configuration. Input keys are what operators write in YAML,
 * Consul and environment variables; the output is fully required, with durations as `...Ms`
 * and sizes as `...Bytes` numbers. Every object is strict: an unknown key is an error.
 * Defaults here mirror config/default.yaml so an empty configuration resolves.
 */

const logSchema = z.strictObject({
  level: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});

const natsSchema = z
  .strictObject({
    url: url(["nats", "tls", "ws", "wss"], { list: true }).default("nats://127.0.0.1:14222"),
    stream: z.string().regex(/^[A-Za-z0-9_-]+$/, { message: "must contain only letters, digits, _ and -" }).default("READINGS"),
    partitions: z.int().min(1).max(1024).default(16),
    replicas: z.literal([1, 3, 5]).default(1),
    duplicateWindow: duration("2m"),
    maxAge: duration("7d"),
    kvBucket: z.string().regex(/^[A-Za-z0-9_-]+$/, { message: "must contain only letters, digits, _ and -" }).default("shoal_snapshots"),
    /**
     * Credentials, when the servers require them — one kind: `user` + `password`, a `token`, or an
     * `nkeySeed` (the user's seed, `SU…`). Secrets (`enc:` values work). None: no authentication.
     */
    user: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
    nkeySeed: z
      .string()
      .regex(/^SU[A-Z2-7]+$/, { message: "must be a NATS user seed (SU…)" })
      .optional(),
  })
  .refine((n) => (n.user === undefined) === (n.password === undefined), { message: "nats.user and nats.password go together", path: ["password"] })
  .refine((n) => [n.user, n.token, n.nkeySeed].filter((x) => x !== undefined).length <= 1, { message: "one kind of NATS credentials at most: user + password, token or nkeySeed", path: ["token"] })
  .transform(({ duplicateWindow, maxAge, ...rest }) => ({
    ...rest,
    duplicateWindowMs: duplicateWindow,
    maxAgeMs: maxAge,
  }));

const mqttSchema = z.strictObject({
  url: url(["mqtt", "mqtts", "tcp", "ssl", "ws", "wss"]).default("mqtt://127.0.0.1:11883"),
  topic: z.string().min(1).default("devices/+/readings"),
  sharedGroup: z.string().min(1).default("shoal-bridge"),
  connections: z.int().min(1).max(64).default(4),
  username: z.string().optional(),
  /** Secret. */
  password: z.string().optional(),
  /**
   * The broker's dynamic-security admin (Mosquitto's `$CONTROL/dynamic-security/v1`): the account
   * Shoal uses to keep device accounts and topic ACLs in step with the registry. Unset: the broker
   * is not driven by Shoal (its own auth applies). Secret.
   */
  adminUsername: z.string().optional(),
  adminPassword: z.string().optional(),
  /**
   * TLS of an `mqtts://` url (ignored for `mqtt://`): PEM paths read at start by
   * src/adapters/mqtt/tls-options.ts, for every MQTT client of Shoal (bridge, downlink, broker
   * admin, simulator). caFile "" = Node's built-in CAs; certFile + keyFile only for a broker with
   * `require_certificate true` (docs/tls.md, MQTT).
   */
  tls: z
    .strictObject({
      caFile: z.string().default(""),
      certFile: z.string().default(""),
      keyFile: z.string().default(""),
      serverName: z.string().default(""),
      rejectUnauthorized: z.boolean().default(true),
    })
    .refine((t) => (t.certFile === "") === (t.keyFile === ""), { message: "mqtt.tls.certFile and mqtt.tls.keyFile go together", path: ["keyFile"] })
    .prefault({}),
});

const bridgeSchema = z
  .strictObject({
    maxPayload: size("16KiB"),
    /** Readings accepted and not yet durable in the journal; above it the bridge stops reading MQTT. */
    maxInFlight: posInt().default(20000),
    /** How long a partition's journal message gathers readings (0: one event-loop turn). */
    batchWindow: duration("0ms"),
    /**
     * Longest a reading that arrived ahead of an earlier one of its device waits for it before it
     * is journaled (the bridge's connections share one subscription: arrival order is not publish
     * order). In-order readings never wait. 0: no reordering.
     */
    reorderHold: durationIn("200ms", 0, 10_000, "must be between 0 and 10s"),
    /**
     * The wait grows up to this while readings come late all the same (the connections fall behind
     * each other under load): 1.5 × the latest straggler of the last minute. Equal to (or below)
     * reorderHold: a fixed wait.
     */
    reorderHoldMax: durationIn("5s", 0, 60_000, "must be between 0 and 60s"),
    /** Most readings per journal message. */
    batchMaxReadings: posInt().max(10000).default(1000),
    /** Most bytes of readings per journal message (NATS's max_payload is 1 MiB by default). */
    batchMaxBytes: sizeIn("256KiB", 1024, 1024 * 1024, "must be between 1KiB and 1MiB"),
    /** Most readings in one device batch payload. */
    maxPayloadReadings: posInt().default(1000),
    maxMetrics: posInt().default(64),
    maxLogLength: posInt().default(2048),
    /**
     * How far ahead of the bridge's clock a reading's tsMs may be; later ones are dead-lettered
     * `invalid_field` (the oldest accepted tsMs is now minus clickhouse.retention.readings).
     */
    maxClockSkew: durationIn("5m", 0, 7 * 86_400_000, "must be between 0 and 7d"),
  })
  .transform(({ maxPayload, batchWindow, batchMaxBytes, reorderHold, reorderHoldMax, maxClockSkew, ...rest }) => ({
    ...rest,
    maxClockSkewMs: maxClockSkew,
    maxPayloadBytes: maxPayload,
    batchWindowMs: batchWindow,
    reorderHoldMs: reorderHold,
    reorderHoldMaxMs: reorderHoldMax,
    batchMaxBytes,
  }));

const runtimeSchema = z
  .strictObject({
    host: z.enum(["workers", "inline"]).default("workers"),
    workers: z.int().min(0).default(0),
    /** Young generation of each worker thread's V8 heap, MiB (0 = V8's default). See WorkerPoolHostOptions. */
    youngGenerationMb: z.int().min(0).max(1024).default(64),
    fetchBatch: posInt().default(500),
    maxAckPending: posInt().default(20000),
    /**
     * Journal bytes delivered and not yet durable+acked across every partition of the node: pulling
     * pauses above it, so memory stays bounded while ClickHouse is slow or down.
     */
    maxInFlight: size("64MiB"),
    mailboxCapacity: posInt().default(256),
    maxActiveActors: posInt().default(1_000_000),
    passivateAfter: duration("10m"),
    snapshotEveryMessages: posInt().default(1000),
    snapshotEvery: duration("30s"),
    maxAttempts: posInt().default(5),
    heartbeatTimeout: duration("5m"),
    /** How often each owned partition's pending timers are kept in the snapshot store (crash safety). */
    timerCheckpointEvery: durationIn("30s", 1000, 3_600_000, "must be between 1s and 1h"),
    /** Partitions taken (consumer rewound, actors recovered, pulling started) at the same time at start. */
    recoveryConcurrency: posInt().max(64).default(64),
  })
  .transform(({ passivateAfter, snapshotEvery, heartbeatTimeout, timerCheckpointEvery, maxInFlight, ...rest }) => ({
    ...rest,
    maxInFlightBytes: maxInFlight,
    passivateAfterMs: passivateAfter,
    snapshotEveryMs: snapshotEvery,
    heartbeatTimeoutMs: heartbeatTimeout,
    timerCheckpointEveryMs: timerCheckpointEvery,
  }));

const detectorSchema = z.strictObject({
  threshold: z.number().min(0).max(1).default(0.9),
  windowSize: posInt().default(64),
  params: z.looseObject({}).prefault({}),
  /** The device-level model of devices with two or more metrics (src/detector/joint.ts, docs/adr/0022). */
  joint: z
    .strictObject({
      enabled: z.boolean().default(true),
      params: z.looseObject({}).prefault({}),
    })
    .prefault({}),
});

/**
 * How device counters are read (docs/adr/0011-sequence-model.md). Live: a change reaches every
 * device actor without a restart.
 */
const sequenceSchema = z
  .strictObject({
    /** Gaps (runs of missing seqs, each of any length) remembered below a device's highest seq: the reorder window, per device. */
    reorderWindow: z.int().min(0).max(65536).default(1024),
    /** Largest forward seq jump taken without confirmation; a larger one is dead-lettered seq_out_of_range. */
    maxJump: posInt().default(10_000_000),
    /** Later readings continuing from such a jump that make it accepted. */
    jumpConfirmations: z.int().min(0).max(100).default(2),
    /** Wrapping counters: the first rule whose glob (`*` any characters) matches a device id gives its width. */
    wrap: z
      .array(
        z.strictObject({
          match: z.string().min(1).max(256),
          bits: z.union([z.literal(8), z.literal(16), z.literal(32)]),
        }),
      )
      .default([]),
    /** An anomaly found in a reading older than this (a store-and-forward backlog) is marked historical. */
    historicalAfter: duration("2m"),
  })
  .transform(({ historicalAfter, ...rest }) => ({ ...rest, historicalAfterMs: historicalAfter }));

const redisSchema = z.strictObject({
  url: url(["redis", "rediss"]).optional(),
  /** Secret: Redis's `requirepass` (AUTH), for `url` (not for `gateway.cache.redisUrl`). */
  password: z.string().min(1).optional(),
});

const consulSchema = z.strictObject({
  url: url(["http", "https"]).optional(),
  prefix: z.string().regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, { message: "must be KV path segments of letters, digits, _ and -" }).default("shoal"),
  /** Secret. */
  token: z.string().optional(),
  registerServices: z.boolean().default(true),
});

/**
 * Per-actor cache (Keyv, one namespace per actor): device actors keep pattern → explanation
 * results there and ask it before the model gateway. In-process memory by default; `redis` uses
 * `redis.url` (shared by every runtime process, survives restarts).
 */
const actorCacheSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    store: z.enum(["memory", "redis"]).default("memory"),
    ttl: duration("1h"),
    maxEntriesPerActor: z.int().min(1).max(4096).default(64),
    opTimeout: duration("250ms"),
  })
  .transform(({ ttl, opTimeout, ...rest }) => ({ ...rest, ttlMs: ttl, opTimeoutMs: opTimeout }));

/**
 * Runtimes as a cluster (docs/adr/0007): with `consul.url` set and `enabled`, each `shoal runtime`
 * joins the cluster and owns the partitions the lease manager gives it; otherwise it owns all.
 */
const clusterSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Consul session TTL: a killed node's partitions move TTL..2×TTL after its last renew. */
    sessionTtl: durationIn("10s", 10_000, 86_400_000, "must be between 10s and 24h (Consul's session TTL range)"),
    /** Consul lock delay after a session is invalidated (Consul's own default, 15 s, would stall failover). */
    lockDelay: durationIn("1s", 0, 60_000, "must be between 0 and 60s"),
    /** Most partitions in motion (free or being handed off) at a time. */
    maxMoves: posInt().default(8),
    /** A node is ready while each owned partition has at most this many undelivered messages. */
    readyLag: z.int().min(0).default(1000),
    /** On SIGTERM, how long the bounded handoff may take before the rest is released at once. */
    leaveTimeout: duration("25s"),
  })
  .transform(({ sessionTtl, lockDelay, leaveTimeout, ...rest }) => ({
    ...rest,
    sessionTtlMs: sessionTtl,
    lockDelayMs: lockDelay,
    leaveTimeoutMs: leaveTimeout,
  }));

const grpcSchema = z.strictObject({
  host: z.string().min(1).default("127.0.0.1"),
  /** HTTP status server (/metrics, /healthz, /readyz) of every role process (`shoal up`, bridge, runtime, query, console, alerts, reports; not `shoal gateway`, which uses gateway.listen.metricsPort); 0 = a free port. */
  webPort: z.int().min(0).max(65535).default(8080),
});

/** The admin gRPC server (shoal.v1.AdminService + health + reflection) of every long-running role. */
const adminSchema = z.strictObject({
  host: z.string().min(1).default("127.0.0.1"),
  /** 0 = a free port (printed/logged at start). */
  port: z.int().min(0).max(65535).default(50055),
});

/** The root configuration schema. Parse with {@link resolveConfig}, not directly. */
export const configSchema = z.strictObject({
  env: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, { message: "must be lowercase letters, digits, _ and -" }).default("dev"),
  nodeId: z.string().min(1).default("shoal-local"),
  log: logSchema.prefault({}),
  nats: natsSchema.prefault({}),
  mqtt: mqttSchema.prefault({}),
  bridge: bridgeSchema.prefault({}),
  runtime: runtimeSchema.prefault({}),
  detector: detectorSchema.prefault({}),
  sequence: sequenceSchema.prefault({}),
  clickhouse: clickhouseSchema.prefault({}),
  redis: redisSchema.prefault({}),
  consul: consulSchema.prefault({}),
  cluster: clusterSchema.prefault({}),
  actorCache: actorCacheSchema.prefault({}),
  grpc: grpcSchema.prefault({}),
  admin: adminSchema.prefault({}),
  query: querySchema.prefault({}),
  vectors: vectorsSchema.prefault({}),
  alerts: alertsSchema.prefault({}),
  reports: reportsSchema.prefault({}),
  console: consoleSchema.prefault({}),
  registry: registrySchema.prefault({}),
  commands: commandsSchema.prefault({}),
  tls: tlsSchema.prefault({}),
  tracing: tracingSchema.prefault({}),
  gateway: gatewayConfigSchema.prefault({} as z.input<typeof gatewayConfigSchema>),
});

/** The resolved, fully-required configuration (durations in ms, sizes in bytes). */
export type ShoalConfig = z.output<typeof configSchema>;
/** What operators may write in a layer (YAML, Consul, env): every key optional. */
export type ShoalConfigInput = z.input<typeof configSchema>;

/**
 * Input key -> output key renames done by the schema (durations and sizes gain a unit suffix).
 * Keyed by input dotted path; used to map value sources onto output paths.
 */
export const RENAMED_KEYS: Readonly<Record<string, string>> = {
  "nats.duplicateWindow": "nats.duplicateWindowMs",
  "nats.maxAge": "nats.maxAgeMs",
  "bridge.maxPayload": "bridge.maxPayloadBytes",
  "bridge.batchWindow": "bridge.batchWindowMs",
  "bridge.reorderHold": "bridge.reorderHoldMs",
  "bridge.reorderHoldMax": "bridge.reorderHoldMaxMs",
  "bridge.maxClockSkew": "bridge.maxClockSkewMs",
  "runtime.passivateAfter": "runtime.passivateAfterMs",
  "runtime.maxInFlight": "runtime.maxInFlightBytes",
  "runtime.snapshotEvery": "runtime.snapshotEveryMs",
  "runtime.heartbeatTimeout": "runtime.heartbeatTimeoutMs",
  "runtime.timerCheckpointEvery": "runtime.timerCheckpointEveryMs",
  "clickhouse.flushInterval": "clickhouse.flushIntervalMs",
  "clickhouse.repair.keep": "clickhouse.repair.keepMs",
  "clickhouse.repair.lookback": "clickhouse.repair.lookbackMs",
  "clickhouse.repair.checkEvery": "clickhouse.repair.checkEveryMs",
  "clickhouse.rollups.reconcileEvery": "clickhouse.rollups.reconcileEveryMs",
  "clickhouse.rollups.reconcileWindow": "clickhouse.rollups.reconcileWindowMs",
  "clickhouse.rollups.settle": "clickhouse.rollups.settleMs",
  "clickhouse.retention.checkEvery": "clickhouse.retention.checkEveryMs",
  "clickhouse.retention.deleteEvery": "clickhouse.retention.deleteEveryMs",
  "clickhouse.retention.readings": "clickhouse.retention.keepMs.readings",
  "clickhouse.retention.readings_1m": "clickhouse.retention.keepMs.readings_1m",
  "clickhouse.retention.readings_1h": "clickhouse.retention.keepMs.readings_1h",
  "clickhouse.retention.analyses": "clickhouse.retention.keepMs.analyses",
  "clickhouse.retention.anomaly_windows": "clickhouse.retention.keepMs.anomaly_windows",
  "clickhouse.retention.device_events": "clickhouse.retention.keepMs.device_events",
  "clickhouse.retention.dead_letters": "clickhouse.retention.keepMs.dead_letters",
  "clickhouse.retention.alerts": "clickhouse.retention.keepMs.alerts",
  "clickhouse.retention.alert_transitions": "clickhouse.retention.keepMs.alert_transitions",
  "clickhouse.retention.reports": "clickhouse.retention.keepMs.reports",
  "clickhouse.retention.audit_log": "clickhouse.retention.keepMs.audit_log",
  "alerts.commandWait": "alerts.commandWaitMs",
  "commands.ttl": "commands.ttlMs",
  "commands.retryEvery": "commands.retryEveryMs",
  "commands.keep": "commands.keepMs",
  "reports.sessionTtl": "reports.sessionTtlMs",
  "sequence.historicalAfter": "sequence.historicalAfterMs",
  "query.timeout": "query.timeoutMs",
  "query.offlineAfter": "query.offlineAfterMs",
  "actorCache.ttl": "actorCache.ttlMs",
  "actorCache.opTimeout": "actorCache.opTimeoutMs",
  "cluster.sessionTtl": "cluster.sessionTtlMs",
  "cluster.lockDelay": "cluster.lockDelayMs",
  "cluster.leaveTimeout": "cluster.leaveTimeoutMs",
};

/**
 * Keys whose values are secrets wherever they appear (matched on the last path segment,
 * case-insensitively): never logged, echoed in errors or printed.
 */
export const SECRET_KEY_PATTERN = /(password|passwd|secret|token|apikey|api_key|privatekey|private_key|credentials?|seed)$/i;

/** True when the dotted `path` names a secret value. */
export function isSecretPath(path: string): boolean {
  const last = path.split(".").pop() ?? "";
  return SECRET_KEY_PATTERN.test(last);
}
