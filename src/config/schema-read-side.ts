import { z } from "zod";
import { duration, durationIn, posInt, url } from "./schema-values.js";

/**
 * The sections of the configuration schema about storing and reading back (src/config/schema.ts):
 * ClickHouse with its row-log repair, rollups and retention; the query service; the vector store.
 */

/**
 * ClickHouse as a projection rebuilt from the row log (docs/adr/0012-row-log-repair.md): every
 * insert ClickHouse accepted is also kept in the SHOAL_ROWS stream for `keep`; after ClickHouse
 * restarted, what it had accepted during `lookback` before is inserted again.
 */
const repairSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** How long the row log keeps inserts (at least lookback plus the longest outage to repair after). */
    keep: durationIn("1h", 60_000, 30 * 86_400_000, "must be between 1m and 30d"),
    /** How far before its restart ClickHouse may have lost acknowledged inserts (its unsynced writes). */
    lookback: durationIn("5m", 1_000, 86_400_000, "must be between 1s and 24h"),
    /** How often ClickHouse's uptime is read to notice a restart. */
    checkEvery: durationIn("5s", 100, 3_600_000, "must be between 100ms and 1h"),
  })
  .transform(({ keep, lookback, checkEvery, ...rest }) => ({ ...rest, keepMs: keep, lookbackMs: lookback, checkEveryMs: checkEvery }));

/**
 * Rollups (readings_1m, readings_1h) are views over readings; every `reconcileEvery` the runtime
 * owning partition 0 compares the last `reconcileWindow` (but the newest `settle`) with the
 * deduplicated readings and inserts the differences (docs/adr/0013-rollups-and-retention.md).
 */
const rollupsSchema = z
  .strictObject({
    /** 0 = never (a repair still reconciles what it inserted again). */
    reconcileEvery: durationIn("1m", 0, 86_400_000, "must be between 0 (off) and 24h"),
    reconcileWindow: durationIn("15m", 60_000, 7 * 86_400_000, "must be between 1m and 7d"),
    settle: durationIn("10s", 1_000, 3_600_000, "must be between 1s and 1h"),
  })
  .transform(({ reconcileEvery, reconcileWindow, settle }) => ({ reconcileEveryMs: reconcileEvery, reconcileWindowMs: reconcileWindow, settleMs: settle }));

/** How long a table keeps rows: a duration, 0 = forever. */
const keepFor = (def: string) => durationIn(def, 0, 100 * 365 * 86_400_000, "must be between 0 (forever) and 100y");

/**
 * Retention per table (ClickHouse 18.16 has no TTL): every `checkEvery` expired partitions are
 * dropped; at most every `deleteEvery` the expired rows of the partition at the cutoff are deleted.
 */
const retentionSchema = z
  .strictObject({
    /** 0 = never. */
    checkEvery: durationIn("1h", 0, 7 * 86_400_000, "must be between 0 (off) and 7d"),
    deleteEvery: durationIn("1d", 60_000, 365 * 86_400_000, "must be between 1m and 365d"),
    readings: keepFor("30d"),
    readings_1m: keepFor("180d"),
    readings_1h: keepFor("1825d"),
    analyses: keepFor("365d"),
    anomaly_windows: keepFor("365d"),
    device_events: keepFor("365d"),
    dead_letters: keepFor("30d"),
    alerts: keepFor("365d"),
    alert_transitions: keepFor("365d"),
    reports: keepFor("1825d"),
    audit_log: keepFor("730d"),
  })
  .transform(({ checkEvery, deleteEvery, ...keepMs }) => ({ checkEveryMs: checkEvery, deleteEveryMs: deleteEvery, keepMs }));

export const clickhouseSchema = z
  .strictObject({
    url: url(["http", "https"]).default("http://127.0.0.1:18123"),
    database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "must be a SQL identifier" }).default("shoal"),
    username: z.string().min(1).default("default"),
    /** Secret. */
    password: z.string().default(""),
    flushRows: posInt().default(10000),
    flushInterval: duration("100ms"),
    repair: repairSchema.prefault({}),
    rollups: rollupsSchema.prefault({}),
    retention: retentionSchema.prefault({}),
  })
  .transform(({ flushInterval, ...rest }) => ({ ...rest, flushIntervalMs: flushInterval }));

/** shoal.v1.QueryService (the read side) of `shoal up` and `shoal query`. */
export const querySchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    host: z.string().min(1).default("127.0.0.1"),
    /** 0 = a free port (printed/logged at start). */
    port: z.int().min(0).max(65535).default(50057),
    /** HTTP/1.1 port of the same services for browsers and HTTP clients (gRPC-web and Connect); 0 = a free port, -1 = none. */
    webPort: z.int().min(-1).max(65535).default(50058),
    /** Longest a unary call may run (the client's deadline when sooner). */
    timeout: durationIn("10s", 100, 600_000, "must be between 100ms and 10m"),
    /** Unary calls in flight per caller (the `shoal-caller` header, else the peer host); more are RESOURCE_EXHAUSTED. */
    maxConcurrentPerCaller: z.int().min(1).max(10_000).default(16),
    /** Open WatchDevice streams per caller and in all. */
    maxStreamsPerCaller: z.int().min(1).max(10_000).default(16),
    maxWatchers: z.int().min(1).max(100_000).default(1000),
    /** Items a watcher may have waiting before it is cut off as too slow. */
    watchBuffer: z.int().min(1).max(1_000_000).default(1000),
    /** A device not heard from for this long is offline on the fleet page. */
    offlineAfter: durationIn("5m", 1_000, 30 * 86_400_000, "must be between 1s and 30d"),
    /** The fleet page's figures (WatchFleet) are computed this often, once for every watcher. */
    fleetInterval: durationIn("2s", 500, 60_000, "must be between 500ms and 1m"),
    /**
     * While nobody watches, the fleet's figures are still computed this often, so the first console
     * of the day shows them at once (at most this old, then fresh). 0: only while someone watches.
     */
    fleetKeepWarm: durationIn("15s", 0, 3_600_000, "must be between 0 and 1h"),
    /** Ingest and anomaly rates are measured over this window. */
    fleetRateWindow: durationIn("1m", 10_000, 3_600_000, "must be between 10s and 1h"),
    /** The most anomalous devices are ranked over this window. */
    fleetAnomalyWindow: durationIn("1h", 60_000, 7 * 86_400_000, "must be between 1m and 7d"),
  })
  .transform(({ timeout, offlineAfter, fleetInterval, fleetKeepWarm, fleetRateWindow, fleetAnomalyWindow, ...rest }) => ({
    ...rest,
    timeoutMs: timeout,
    offlineAfterMs: offlineAfter,
    fleetIntervalMs: fleetInterval,
    fleetKeepWarmMs: fleetKeepWarm,
    fleetRateWindowMs: fleetRateWindow,
    fleetAnomalyWindowMs: fleetAnomalyWindow,
  }));

/**
 * Vectors of anomaly windows and texts for similar-incident and semantic search (docs/adr/0014):
 * `embedded` (LanceDB in the process, files under `embedded.dir`) or a Weaviate server.
 */
export const vectorsSchema = z.strictObject({
  store: z.enum(["embedded", "weaviate"]).default("embedded"),
  embedded: z
    .strictObject({
      /** Directory of the tables, relative to the working directory (one process per directory). */
      dir: z.string().min(1).default(".shoal/vectors"),
    })
    .prefault({}),
  weaviate: z
    .strictObject({
      url: url(["http", "https"]).default("http://127.0.0.1:8080"),
      /** Secret. */
      apiKey: z.string().optional(),
      /** Objects per batch import request. */
      batchSize: z.int().min(1).max(10_000).default(100),
    })
    .prefault({}),
  dimensions: z
    .strictObject({
      /** Length of an anomaly window's shape vector (src/domain/window-features.ts). */
      anomalyWindow: z.int().min(2).max(4096).default(32),
    })
    .prefault({}),
  /** Also index device log lines (distinct per device) as texts. */
  indexLogs: z.boolean().default(true),
});
