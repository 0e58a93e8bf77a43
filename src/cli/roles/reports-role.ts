import type { NatsConnection } from "@nats-io/transport-node";
import type { ShoalConfig } from "../../config/index.js";
import type { Clock } from "../../ports/clock.js";
import type { ModelGateway } from "../../ports/gateway.js";
import type { Log } from "../../ports/log.js";
import type { RowSink } from "../../ports/row-sink.js";
import { ClickHouseSink, createBoundedQueries, migrate, sqlString, type ClickHouseOptions } from "../../adapters/clickhouse/index.js";
import { createConsulLocks, createConsulSessions, type ConsulConnection } from "../../adapters/consul/index.js";
import { createJetStreamRowLog } from "../../adapters/nats/row-log.js";
import { systemClock } from "../../base/clock.js";
import { createSqlReportStore, ReportGenerator, ReportScheduler, validateSchedule, type GenerateOutcome, type ReportSchedulerStats, type ReportsOptions, type ReportStore, type SqlAccess } from "../../reports/index.js";
import { LeaderElection, type LeaderStats } from "../../cluster/leader-election.js";

/** Collaborators of the reports role. */
export interface ReportsRoleDeps {
  /** The model gateway: in-process in `shoal up`, the gRPC client of `shoal gateway` otherwise. */
  readonly gateway: Pick<ModelGateway, "summarize">;
  /** ClickHouse: figures and stored reports are read there (and rows written, without `sink`). */
  readonly clickhouse: ClickHouseOptions & { readonly flushIntervalMs?: number };
  /**
   * Where report rows go. Default: a ClickHouse sink of the role's own, logging its inserts to the
   * row log (SHOAL_ROWS, so the vector indexer embeds the reports) when `nc` and `rowLog` are given.
   */
  readonly sink?: RowSink;
  readonly nc?: NatsConnection;
  /** The row log of the role's own sink (`clickhouse.repair`: writer = node id, keep, replicas). */
  readonly rowLog?: { readonly writer: string; readonly keepMs: number; readonly replicas: number };
  /** Consul agent of the leader election; absent: this process generates alone (no election: run one only). */
  readonly consul?: ConsulConnection;
  /** Names the leader's session, e.g. the node id. Default `reports`. */
  readonly nodeId?: string;
  /** Apply migrations first (default true; a reports process may start before any runtime). */
  readonly migrate?: boolean;
  readonly clock?: Clock;
  /** Summarize deadline, ms. Default 60 000. */
  readonly summarizeTimeoutMs?: number;
  /** Longest ClickHouse query, ms. Default 60 000. */
  readonly queryTimeoutMs?: number;
  /** Told of leadership changes and of every period handled (tests, child processes of chaos tests). */
  readonly onLeader?: (leader: boolean, reason: string) => void;
  readonly onReport?: (schedule: string, outcome: GenerateOutcome) => void;
}

/** Counters of the reports role. */
export interface ReportsRoleStats {
  readonly leader: boolean;
  readonly election: LeaderStats | undefined;
  readonly scheduler: Readonly<ReportSchedulerStats>;
}

/** A running reports role. */
export interface ReportsRole {
  /** Generates one period by hand (idempotent: `exists` when stored); no leadership needed. */
  generate(schedule: string, fromMs: number): Promise<GenerateOutcome>;
  stats(): ReportsRoleStats;
  /** Stops generating (the current report is aborted), gives leadership up, closes what it opened. */
  close(): Promise<void>;
}

/** The ReportStore's SQL access on a ClickHouse client (queries bounded, cancellable). */
function clickHouseSql(o: ClickHouseOptions, timeoutMs: number): SqlAccess & { close(): Promise<void> } {
  const db = createBoundedQueries(o, timeoutMs, "reports query");
  return { literal: sqlString, query: db.rows, close: () => db.close() };
}

/**
 * The reports role (docs/adr/0017-reports.md): one leader per cluster (Consul session lock on
 * `leaderKey`) runs the scheduler — catch up the missing periods of every schedule, then sleep
 * until the next is due; the others wait to take over. Reports are written through the store path.
 */
export async function startReportsRole(opts: ReportsOptions, log: Log, deps: ReportsRoleDeps): Promise<ReportsRole> {
  const schedules = opts.schedules.map(validateSchedule);
  const clock = deps.clock ?? systemClock;
  if (deps.migrate !== false) await migrate(deps.clickhouse);
  const sql = clickHouseSql(deps.clickhouse, deps.queryTimeoutMs ?? 60_000);
  const store: ReportStore = createSqlReportStore(sql);
  const rowLog = deps.sink === undefined && deps.nc !== undefined && deps.rowLog !== undefined ? await createJetStreamRowLog(deps.nc, deps.rowLog) : undefined;
  const ownSink = deps.sink === undefined ? ClickHouseSink.create({ ...deps.clickhouse, flushRows: 100, flushIntervalMs: deps.clickhouse.flushIntervalMs ?? 100 }, clock, rowLog) : undefined;
  const sink = deps.sink ?? ownSink!;
  const generator = new ReportGenerator({ store, gateway: deps.gateway, sink, clock }, { summarizeTimeoutMs: deps.summarizeTimeoutMs ?? 60_000 });
  const scheduler = new ReportScheduler({ store, generator, clock, log, ...(deps.onReport ? { onReport: deps.onReport } : {}) }, { schedules, catchUpMax: opts.catchUpMax });
  const byName = new Map(schedules.map((s) => [s.name, s]));

  let election: LeaderElection | undefined;
  let alone: { stop: AbortController; done: Promise<void> } | undefined;
  let locks: ReturnType<typeof createConsulLocks> | undefined;
  let sessions: ReturnType<typeof createConsulSessions> | undefined;
  if (!opts.enabled || schedules.length === 0) {
    log.info({ enabled: opts.enabled, schedules: schedules.length }, "reports: nothing scheduled");
  } else if (deps.consul !== undefined) {
    locks = createConsulLocks(deps.consul);
    sessions = createConsulSessions(deps.consul);
    election = LeaderElection.start(
      { locks, sessions, log, clock, ...(deps.onLeader ? { onChange: deps.onLeader } : {}) },
      { key: opts.leaderKey, ttlMs: opts.sessionTtlMs, name: `shoal-reports ${deps.nodeId ?? "reports"}` },
      (signal) => scheduler.run(signal),
    );
  } else {
    log.warn({}, "reports: no consul.url: this process generates reports without leader election (run one only)");
    const stop = new AbortController();
    deps.onLeader?.(true, "no election");
    alone = { stop, done: scheduler.run(stop.signal) };
  }
  log.info({ schedules: schedules.map((s) => s.name), leaderKey: opts.leaderKey, election: election !== undefined }, "reports started");

  return {
    async generate(name, fromMs) {
      const s = byName.get(name);
      if (s === undefined) throw new RangeError(`no schedule ${JSON.stringify(name)} (configured: ${[...byName.keys()].join(", ") || "none"})`);
      return generator.generate(s, fromMs);
    },
    stats: () => ({ leader: election?.isLeader() ?? alone !== undefined, election: election?.stats(), scheduler: { ...scheduler.stats } }),
    async close() {
      await election?.close();
      alone?.stop.abort();
      await alone?.done;
      locks?.close();
      sessions?.close();
      await ownSink?.close();
      rowLog?.close();
      await sql.close();
      log.info("reports stopped");
    },
  };
}

/**
 * The reports role from the configuration: schedules from `reports`, ClickHouse from `clickhouse`,
 * the leader election on `consul.url` (none without it), its own sink with the row log on `nc`
 * (when `clickhouse.repair` is on) unless a sink is given.
 */
export function startReportsRoleFor(cfg: ShoalConfig, log: Log, deps: Pick<ReportsRoleDeps, "gateway" | "sink" | "nc" | "onLeader" | "onReport">): Promise<ReportsRole> {
  const ch = cfg.clickhouse;
  return startReportsRole(cfg.reports, log, {
    ...deps,
    clickhouse: { url: ch.url, database: ch.database, username: ch.username, password: ch.password, flushIntervalMs: ch.flushIntervalMs },
    ...(ch.repair.enabled ? { rowLog: { writer: cfg.nodeId, keepMs: ch.repair.keepMs, replicas: cfg.nats.replicas } } : {}),
    ...(cfg.consul.url !== undefined ? { consul: { url: cfg.consul.url, ...(cfg.consul.token !== undefined ? { token: cfg.consul.token } : {}) } } : {}),
    nodeId: cfg.nodeId,
    summarizeTimeoutMs: cfg.gateway.deadlines.summarizeMs,
  });
}
