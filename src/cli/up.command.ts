import { parseArgs } from "node:util";
import { spawnSync } from "node:child_process";
import { startTracing } from "../observability/start-tracing.js";
import { fileURLToPath } from "node:url";
import type { CommandIo } from "./io.js";
import { untilSignal } from "./io.js";
import { loadRoleConfig } from "./load.js";
import { startBridgeRole } from "./roles/bridge-role.js";
import { startRuntimeRole } from "./roles/runtime-role.js";
import { startGatewayRole } from "./gateway.command.js";
import { createMetricsRegistry } from "../observability/metrics.js";
import { promMetrics } from "../observability/prom-metrics.js";
import { Registry } from "prom-client";
import { startStatusServer } from "../status-page/status-server.js";
import { emptySimulateStats, simulate, type SimulateStats } from "../simulator/simulator.js";
import { connectNats } from "../adapters/nats/connection.js";
import { createNatsPartitionJournal } from "../adapters/nats/partition-journal.js";
import { roleIncidents } from "./roles/journal-watch.js";
import { countersOf, partitionLagRefresher, runtimeMetricsRefresher, singleNodeReadiness, startAdminRole } from "./roles/admin-role.js";
import { startQueryRole } from "./roles/query-role.js";
import { configWebService, startConsoleRole, type ConsoleRole } from "./roles/console-role.js";
import type { WebService } from "../grpc/web-server.js";
import { openVectorStore, startVectorIndexer } from "./roles/vector-store.js";
import { createEventPublisher } from "../adapters/nats/event-publisher.js";
import { startAlertsRole } from "./roles/alerts-role.js";
import { startReportsRoleFor } from "./roles/reports-role.js";
import { createAccessCheck } from "../access/index.js";
import { localStackDir, readLocalBrokerCredentials, withLocalBrokerCredentials } from "./local-credentials.js";
import { ensureLocalTokens } from "./local-tokens.js";
import { localStackEnv } from "./local-stack-credentials.js";

/**
 * `shoal up [--demo] [--devices N] [--rate R] [--no-stack]`: every role in one process (the monolith
 * shape). Starts the local service stack first unless --no-stack; --demo runs the device simulator
 * and prints live counts.
 */
export async function run(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      demo: { type: "boolean", default: false },
      "no-stack": { type: "boolean", default: false },
      devices: { type: "string", default: "200" },
      rate: { type: "string", default: "500" },
    },
  });
  if (!values["no-stack"]) {
    const script = fileURLToPath(new URL("../../deploy/local/stack.sh", import.meta.url));
    const res = spawnSync("bash", [script, "up"], { stdio: ["ignore", "inherit", "inherit"], env: io.env as NodeJS.ProcessEnv });
    if (res.status !== 0) {
      io.stderr("shoal up: the local service stack did not start (see above)\n");
      return 1;
    }
  }
  // The local stack's broker accounts (generated on its first start): the bridge's, the registry's
  // admin and the simulator's gateway account; values already set in the environment win.
  const local = values["no-stack"] ? undefined : readLocalBrokerCredentials(localStackDir(io.env));
  // The stack's NATS, ClickHouse, Redis and Consul credentials (generated on its first start, so
  // read again after stack.sh) where the configuration points at it.
  if (!values["no-stack"]) io = { ...io, env: withLocalBrokerCredentials(localStackEnv(io.env), local) };
  const ctx = await loadRoleConfig(io, "up", { journal: true });
  const { log } = ctx;
  // No open door on the local stack either: without configured tokens, generated local ones.
  const localTokens = local && ctx.cfg.console.tokens.length === 0 ? ensureLocalTokens(localStackDir(io.env)) : undefined;
  const cfg = localTokens ? { ...ctx.cfg, console: { ...ctx.cfg.console, tokens: [...localTokens.tokens] } } : ctx.cfg;
  const gateway = await startGatewayRole(cfg.gateway, { env: io.env, log: log.child({ role: "gateway" }), defaultRedisUrl: cfg.redis.url, defaultRedisPassword: cfg.redis.password, access: createAccessCheck(cfg.console.tokens), tls: cfg.tls, tracing: await startTracing(cfg.tracing, "shoal-gateway"), registry: ctx.registry });
  // One incident reporter for the process (every role it hosts reports there; events go out on lagNc).
  const lagNc = await connectNats(cfg.nats, `shoal-up-lag-${cfg.nodeId}`);
  const incidents = roleIncidents(lagNc, log.child({ role: "up" }), "up", promMetrics(ctx.registry));
  const runtime = await startRuntimeRole(cfg, log.child({ role: "runtime" }), "all", { gateway: gateway.gateway, metrics: promMetrics(ctx.registry), incidents });
  const bridge = await startBridgeRole(cfg, log.child({ role: "bridge" }), {
    metrics: promMetrics(ctx.registry),
    incidents,
    env: io.env,
    ...(local ? { serviceAccounts: [{ ...local.simulator, role: "gateway" as const }] } : {}),
  });
  // The read side: QueryService, and the vector indexer feeding the vector store from the row log.
  const vectors = cfg.query.enabled ? await openVectorStore(cfg, log.child({ role: "query" }), gateway.gateway) : undefined;
  const indexer = vectors ? startVectorIndexer(cfg, log.child({ role: "vectors" }), { nc: lagNc, store: vectors, gateway: gateway.gateway, events: createEventPublisher(lagNc), incidents }) : undefined;
  const query = cfg.query.enabled
    ? await startQueryRole(cfg, log.child({ role: "query" }), { nc: lagNc, gateway: gateway.gateway, env: io.env, metrics: promMetrics(ctx.registry), ...(vectors ? { vectors } : {}) }).catch((e: Error) => {
        log.error({ err: e.message, port: cfg.query.port }, "query gRPC server not started (set query.port, 0 = a free port)");
        return undefined;
      })
    : undefined;
  // What tells operators what matters: the alert relay and notifier, and the scheduled reports.
  const alerts = cfg.alerts.enabled ? await startAlertsRole(cfg, log.child({ role: "alerts" }), { nc: lagNc }) : undefined;
  const reports = cfg.reports.enabled ? await startReportsRoleFor(cfg, log.child({ role: "reports" }), { gateway: gateway.gateway, nc: lagNc }) : undefined;
  let sim: SimulateStats = emptySimulateStats();
  const unsubscribe = ctx.watcher.subscribe((next) => {
    runtime.reconfigure(next.config, next.version);
    gateway.setConfig(next.config.gateway);
    log.info({ version: next.version }, "configuration applied to device actors");
  });
  const lagJournal = await createNatsPartitionJournal(lagNc, cfg.nats.stream);
  const registry = createMetricsRegistry({
    bridge: () => ({ ...bridge.stats, held: bridge.pending() }),
    runtime: () => ({ ...runtime.stats(), activeActors: undefined }),
    sink: () => runtime.sinkStats(),
    ...(alerts ? { alerts: () => alerts.stats() } : {}),
    ...(reports ? { reports: () => reports.stats() } : {}),
  });
  // Admin gRPC (GetInfo, GetCounters, GetRuntimeStats, RestartWorker; no cluster in the monolith).
  const admin = await startAdminRole(cfg, log.child({ role: "admin" }), {
    metrics: promMetrics(ctx.registry),
    roles: ["gateway", "runtime", "bridge", ...(query ? ["query"] : []), ...(alerts ? ["alerts"] : []), ...(reports ? ["reports"] : [])],
    counters: () => ({ ...countersOf("bridge", bridge.stats), ...countersOf("runtime", runtime.stats()) }),
    runtime,
    ...(query ? { audit: query.audit } : {}),
    readiness: singleNodeReadiness(cfg.nats.partitions, () => runtime.owned(), lagJournal, cfg.cluster.readyLag),
  });
  // The operators' console on query.webPort: the read side's services and this process's AdminService.
  const extraServices: WebService[] = [configWebService(io.env, ctx.watcher, log.child({ role: "console" })), ...(query?.webServices ?? [])];
  const consoleRole: ConsoleRole | undefined = query ? await startConsoleRole(cfg, log.child({ role: "console" }), { query: query.query, alerts: query.alerts, admin: admin.service, extraServices, audit: query.audit, metrics: promMetrics(ctx.registry) }) : undefined;
  const refreshRuntime = runtimeMetricsRefresher(registry, runtime);
  const refreshLag = partitionLagRefresher(registry, () => runtime.owned(), lagJournal, cfg.nats.partitions);
  const refresh = async () => void (await Promise.all([refreshRuntime(), refreshLag()]));
  const status = await startStatusServer({
    host: cfg.grpc.host,
    port: cfg.grpc.webPort,
    registry: Registry.merge([registry, ctx.registry]),
    ready: () => admin.readiness.ready(),
    degraded: () => incidents.degradedReason(),
    readyReason: () => admin.readiness.reason(),
    refresh,
  });
  io.stdout(
    `\nShoal is up. ${consoleBanner(consoleRole?.url)}  status: ${status.url}  (metrics: ${status.url}metrics)  model gateway (gRPC): ${gateway.address}  ` +
      `admin (gRPC): ${admin.address ?? "not started, see the log"}  query + alerts (gRPC): ${query?.address ?? "not started"}\n` +
      (localTokens ? `Sign in to the console with the local-admin token in ${localTokens.file} (shoal's command-line clients use it by themselves).\n` : "") +
      `Press Ctrl-C to stop.\n\n`,
  );
  const abort = new AbortController();
  let simDone: Promise<unknown> = Promise.resolve();
  if (values.demo) {
    const devices = Number(values.devices);
    const rate = Number(values.rate);
    io.stdout(`demo: simulating ${devices} devices at ${rate} readings/s (MQTT QoS 1 → ${cfg.mqtt.url})\n`);
    simDone = simulate({
      url: cfg.mqtt.url,
      devices,
      rate,
      durationSec: 365 * 24 * 3600,
      devicePrefix: `demo${Date.now().toString(36)}`,
      connections: 2,
      // The local stack's gateway account, and devices that answer commands (`shoal command send`).
      ...(local ? { username: local.simulator.username, password: local.simulator.password } : {}),
      answerCommands: true,
      // A fleet as real devices behave (docs/sequence-model.md): some reboot (half of them say so
      // with a boot number), some go offline for 30 s and flush what they buffered, a few count
      // nothing or with an 8-bit counter (named *-nc-* and *-s8-*: config/dev.yaml's sequence.wrap).
      rebootRate: 1 / 1800,
      bootFraction: 0.5,
      offlineRate: 1 / 3600,
      offlineSec: 30,
      counterMix: { none: 0.02, bits8: 0.02, bits16: 0, bits32: 0 },
      counterPrefixes: true,
      signal: abort.signal,
      onProgress: (s) => (sim = s),
    }).catch((e: Error) => log.error({ err: e.message }, "simulator failed"));
  }
  // What became of the readings in the device actors (summed over workers; docs/sequence-model.md).
  let devices = "";
  // Incidents of the last minute (docs/durability.md), so a user watching the ticker sees them.
  const health = () => {
    const d = incidents.degradedReason();
    return d === "" ? "" : `  ${d.toUpperCase().slice(0, 8)}${d.slice(8)}`;
  };
  const ticker = setInterval(() => {
    const r = runtime.stats();
    io.stdout(
      `published ${sim.acked}  bridged ${bridge.stats.accepted} (dup ${bridge.stats.duplicate}, rejected ${bridge.stats.rejected}, reordered ${bridge.stats.reordered}${bridge.stats.reorderLate > 0 ? `, came late ${bridge.stats.reorderLate}` : ""})  ` +
        `rows ${r.rowsWritten}  acked ${r.acked}  actors ${r.activeActors}  anomalies injected ${sim.anomaliesInjected}  ` +
        `reboots ${sim.reboots}  offline ${sim.offlinePeriods} (flushed ${sim.flushed})${devices}${health()}\n`,
    );
    runtime.introspect().then(
      (v) => (devices = `  devices: ${deviceOutcomes(v.workers.map((w) => w.logicCounters["device"] ?? {}))}`),
      () => {},
    );
  }, 2000);
  await untilSignal();
  clearInterval(ticker);
  await admin.close();
  abort.abort();
  await simDone;
  await bridge.close();
  await reports?.close();
  await alerts?.close();
  await consoleRole?.close();
  await query?.close();
  await indexer?.close();
  await vectors?.close();
  await runtime.close();
  await gateway.close();
  unsubscribe();
  await ctx.close();
  await lagNc.drain();
  status.server.close();
  return 0;
}

/** The banner's console entry: `console: http://127.0.0.1:50058/` (the app, and every service over gRPC-web/Connect). */
export function consoleBanner(url: string | undefined): string {
  return `console: ${url ? `${url}/` : "not started, see the log"}`;
}

/** "applied N, duplicate N, …, epochs N" of the device logic counters summed over workers (zeros left out). */
export function deviceOutcomes(perWorker: ReadonlyArray<Readonly<Record<string, number>>>): string {
  const sum: Record<string, number> = {};
  for (const c of perWorker) for (const [k, n] of Object.entries(c)) sum[k] = (sum[k] ?? 0) + n;
  const epochs = (sum["epochsFromBoot"] ?? 0) + (sum["epochsInferred"] ?? 0);
  const parts = ["applied", "duplicate", "conflicting_duplicate", "seq_out_of_range", "stale_epoch", "too_late"].filter((k) => k === "applied" || (sum[k] ?? 0) > 0).map((k) => `${k} ${sum[k] ?? 0}`);
  return `${parts.join(", ")}, epochs started ${epochs}, alert transitions ${sum["alertTransitions"] ?? 0}`;
}
