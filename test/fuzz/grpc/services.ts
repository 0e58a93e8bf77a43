import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import { createAccessCheck, type Role } from "../../../src/access/index.js";
import { createAdminService, DEFAULT_ADMIN_POLICY, startAdminServer, type AdminServer } from "../../../src/admin/index.js";
import { addAlertService, ALERT_SERVICE_FILES, ALERT_SERVICE_NAME, AlertWatchHub, createAlertService } from "../../../src/alert-service/index.js";
import { MemoryAlertFeed } from "../../../src/alert-service/testing.js";
import { addAuditService, AUDIT_SERVICE_FILES, createAuditService } from "../../../src/audit-service/index.js";
import { MemoryAuditLog } from "../../../src/audit-service/testing.js";
import { systemClock } from "../../../src/base/clock.js";
import { addCommandService, COMMAND_SERVICE_FILES, createCommandService } from "../../../src/command-service/index.js";
import { MemoryCommandStore } from "../../../src/commands/index.js";
import { createConfigService } from "../../../src/config-service/index.js";
import { MemoryKv } from "../../../src/config-service/testing.js";
import { startConsoleServer, type ConsoleServer } from "../../../src/console/index.js";
import { addDeviceService, createDeviceService, DEVICE_SERVICE_FILES } from "../../../src/device-service/index.js";
import { RecordingBroker } from "../../../src/device-service/testing.js";
import { createGateway, gatewayConfigSchema, startGatewayServer, type GatewayServer, type GatewayService } from "../../../src/gateway/index.js";
import { AdminService } from "../../../src/gen/shoal/v1/admin_pb.js";
import { AlertService } from "../../../src/gen/shoal/v1/alert_pb.js";
import { AuditService } from "../../../src/gen/shoal/v1/audit_pb.js";
import { DeviceCommandService } from "../../../src/gen/shoal/v1/command_pb.js";
import { ConfigService } from "../../../src/gen/shoal/v1/config_pb.js";
import { DeviceService } from "../../../src/gen/shoal/v1/device_pb.js";
import { ModelGatewayService } from "../../../src/gen/shoal/v1/gateway_pb.js";
import { QueryService } from "../../../src/gen/shoal/v1/query_pb.js";
import type { CallPolicy } from "../../../src/grpc/connect-on-grpc.js";
import { webService } from "../../../src/grpc/web-server.js";
import type { AlertListQuery, AlertReadModel, AlertRow, AlertTransitionRecord } from "../../../src/ports/alert-read-model.js";
import type { AlertCommand, AlertCommandSink, Silence, SilenceStore } from "../../../src/ports/alerts.js";
import type { CommandQueue, QueuedCommand } from "../../../src/ports/commands.js";
import type { DeviceRow, FleetRow, ReadModel } from "../../../src/ports/read-model.js";
import type { RowFeed } from "../../../src/ports/row-feed.js";
import { createQueryService, startQueryServer, type QueryServer } from "../../../src/query/index.js";
import { WatchHub } from "../../../src/query/watch-hub.js";
import { MemoryDeviceRegistry } from "../../../src/registry/memory-registry.js";

/**
 * Every Shoal service running in-process with its REAL implementation (argument checks,
 * conversions, the access check, the per-caller caps, the audit of mutating calls) over in-memory
 * stores, on its real server: the query gRPC port (QueryService, AlertService, DeviceService,
 * DeviceCommandService, AuditService), the admin gRPC port (AdminService), the model gateway's
 * gRPC port (ModelGatewayService, the local gateway with its hand-written Score codecs), and the
 * console's HTTP port (every service served there, gRPC-web and Connect: ConfigService only there).
 */

/** Tokens of the fuzzed servers, one per role. */
export const TOKENS = { viewer: "fuzz-viewer-token-0123456789", operator: "fuzz-operator-token-0123456789", admin: "fuzz-admin-token-0123456789" } as const satisfies Record<Role, string>;

/** A service under fuzz and where it is served. */
export interface Target {
  readonly service: DescService;
  /** gRPC (HTTP/2) address, or the console's base URL for services served over HTTP only. */
  readonly grpcAddress?: string;
  readonly httpUrl?: string;
}

/** The running servers, their services and what they reported. */
export interface FuzzServers {
  readonly targets: readonly Target[];
  /** Addresses of the gRPC servers (health-checked after the fuzzing). */
  readonly grpcAddresses: readonly string[];
  /** Everything the services recorded as internal errors (method, message): unexpected throws in their code. */
  readonly internalErrors: Array<[string, string]>;
  close(): Promise<void>;
}

const NOW = Date.UTC(2026, 11, 4);

/** A small fleet for QueryService (what a ClickHouse read model would answer). */
function readModel(): ReadModel {
  const dev = (id: string): DeviceRow => ({ deviceId: id, firstSeenMs: 1, lastSeenMs: NOW - 1000, readings: 10, epoch: 0, lastSeq: 10, lastEvent: "", lastEventMs: 0, anomalies: 0, incidents: 0 });
  const fleet = ["a-1", "a-2", "b-1"].map(dev);
  return {
    listDevices: async (q) => fleet.filter((d) => d.deviceId.startsWith(q.prefix) && d.deviceId > q.after).slice(0, q.limit),
    getDevice: async (id) => fleet.find((d) => d.deviceId === id),
    deviceMetrics: async () => [],
    deviceEvents: async () => [],
    countReadings: async () => 1000,
    series: async (q) => [{ tsMs: q.fromMs, value: 2, min: 1, max: 3, count: 4, sumSq: 20, score: 0.5, epoch: 0, seq: 0 }],
    analyses: async () => [],
    anomalyWindow: async () => undefined,
    explanations: async () => [],
    values: async () => ({ tsMs: [], values: [] }),
    fleet: async (q): Promise<FleetRow> => ({ devices: 3, online: 3, offline: 0, silent: 0, readingsInRateWindow: 10, anomaliesInRateWindow: 0, incidentsInRateWindow: 0, top: Array.from({ length: Math.min(q.top, 3) }, (_, i) => ({ deviceId: `a-${i}`, anomalies: 1, incidents: 1, maxScore: 0.9, lastAnomalyMs: NOW })) }),
  };
}

/** Alerts, silences and the alert actor, in memory: acknowledge/resolve apply at once. */
class MemoryAlerts implements AlertReadModel, AlertCommandSink, SilenceStore {
  private readonly rows = new Map<string, AlertRow>();
  private readonly transitions = new Map<string, AlertTransitionRecord[]>();
  private readonly silences = new Map<string, Silence>();
  constructor() {
    for (const [d, n] of [["d-1", 1], ["d-2", 2]] as const) this.record({ alertId: `${d}/anomaly/${n}`, version: 1, deviceId: d, rule: "anomaly", metric: "t", kind: "raised", state: "firing", severity: "warning", atMs: NOW, startedAtMs: NOW, value: 0.9, summary: "t high", by: "", reason: "score", flapping: false });
  }
  private record(t: AlertTransitionRecord): void {
    this.transitions.set(t.alertId, [...(this.transitions.get(t.alertId) ?? []), t].slice(-20));
    this.rows.set(t.alertId, { alertId: t.alertId, deviceId: t.deviceId, rule: t.rule, metric: t.metric, severity: t.severity, state: t.state, startedAtMs: t.startedAtMs, updatedAtMs: t.atMs, resolvedAtMs: t.state === "resolved" ? t.atMs : 0, summary: t.summary, detail: t.reason, version: t.version, flapping: t.flapping });
  }
  async listAlerts(q: AlertListQuery): Promise<AlertRow[]> {
    return [...this.rows.values()].filter((a) => q.deviceId === "" || a.deviceId === q.deviceId).slice(0, q.limit);
  }
  async getAlert(id: string) {
    return this.rows.get(id);
  }
  async history(id: string) {
    return this.transitions.get(id) ?? [];
  }
  async submit(cmd: AlertCommand) {
    const last = this.transitions.get(cmd.alertId)?.at(-1);
    if (last === undefined) return;
    const state = cmd.op === "acknowledge" ? "acknowledged" : "resolved";
    this.record({ ...last, version: last.version + 1, kind: state, state, atMs: cmd.atMs, by: cmd.by, reason: `${state} by ${cmd.by}` });
  }
  async put(s: Silence) {
    if (this.silences.size < 10_000) this.silences.set(s.id, s);
  }
  async remove(id: string) {
    return this.silences.delete(id);
  }
  async list() {
    return [...this.silences.values()];
  }
}

class MemoryQueue implements CommandQueue {
  queued = 0;
  async enqueue(_c: QueuedCommand): Promise<void> {
    this.queued++;
  }
}

const noRows: RowFeed = { subscribe: () => () => {} };

/** Starts every server; `timeoutMs` is the per-call limit of the Connect-implemented services. */
export async function startFuzzServers(o: { timeoutMs?: number } = {}): Promise<FuzzServers> {
  const internalErrors: Array<[string, string]> = [];
  const onInternalError = (method: string, err: unknown) => void internalErrors.push([method, (err as Error)?.message ?? String(err)]);
  const access = createAccessCheck(Object.entries(TOKENS).map(([role, token]) => ({ name: `${role}-caller`, role: role as Role, token })));
  const audit = new MemoryAuditLog();
  const policy: CallPolicy = { timeoutMs: o.timeoutMs ?? 5_000, maxConcurrentPerCaller: 256, maxStreamsPerCaller: 256, access, audit };
  const registry = new MemoryDeviceRegistry();
  const alerts = new MemoryAlerts();
  const query = createQueryService({ readModel: readModel(), watch: new WatchHub(noRows, { maxWatchers: 1000, bufferItems: 10 }), now: () => systemClock.now(), offlineAfterMs: 300_000, onInternalError });
  const alertImpl = createAlertService({ readModel: alerts, commands: alerts, silences: alerts, watch: new AlertWatchHub(new MemoryAlertFeed(), { maxWatchers: 1000, bufferItems: 10 }), clock: systemClock, waitMs: 200, pollMs: 20, onInternalError });
  const deviceImpl = createDeviceService({ registry, broker: new RecordingBroker(), secretKey: Buffer.alloc(32, 7), clock: systemClock, onInternalError });
  const commandImpl = createCommandService({ store: new MemoryCommandStore(), queue: new MemoryQueue(), clock: systemClock, defaultTtlMs: 3_600_000, registry, onInternalError });
  const auditImpl = createAuditService({ reader: audit, onInternalError });
  const adminImpl = createAdminService({ info: { nodeId: "fuzz-1", roles: ["query"], version: "0.0.0", startedAtMs: NOW }, counters: () => ({ "bridge.received": 1 }) });

  const dir = mkdtempSync(join(tmpdir(), "shoal-fuzz-config-"));
  writeFileSync(join(dir, "default.yaml"), "log:\n  level: info\n");
  const kv = new MemoryKv();
  const configImpl = createConfigService({ env: { SHOAL_ENV: "fuzz", SHOAL__CONSUL__URL: "http://consul.fuzz:8500" }, configDir: dir, connectKv: kv.connect, onInternalError });

  let q: QueryServer | undefined;
  let admin: AdminServer | undefined;
  let gw: GatewayService | undefined;
  let gateway: GatewayServer | undefined;
  let web: ConsoleServer | undefined;
  try {
    q = await startQueryServer(query, {
      host: "127.0.0.1",
      port: 0,
      policy,
      extraServices: [
        { name: ALERT_SERVICE_NAME, files: ALERT_SERVICE_FILES, add: (s) => addAlertService(s, alertImpl, policy) },
        { name: DeviceService.typeName, files: DEVICE_SERVICE_FILES, add: (s) => addDeviceService(s, deviceImpl, policy) },
        { name: AuditService.typeName, files: AUDIT_SERVICE_FILES, add: (s) => addAuditService(s, auditImpl, policy) },
        { name: DeviceCommandService.typeName, files: COMMAND_SERVICE_FILES, add: (s) => addCommandService(s, commandImpl, policy) },
      ],
    });
    admin = await startAdminServer(adminImpl, { host: "127.0.0.1", port: 0, initiallyServing: true, policy: { ...DEFAULT_ADMIN_POLICY, ...policy } });
    gw = createGateway({ config: gatewayConfigSchema.parse({}) });
    gateway = await startGatewayServer(gw, { port: 0, access, audit });
    // The console's HTTP port serves what the console and query roles put there (src/cli/roles/console-role.ts, query-role.ts).
    const webServices = [
      webService(QueryService, query),
      webService(AlertService, alertImpl),
      webService(AdminService, adminImpl),
      webService(ConfigService, configImpl),
      webService(DeviceService, deviceImpl),
      webService(DeviceCommandService, commandImpl),
      webService(AuditService, auditImpl),
    ];
    web = await startConsoleServer(webServices, { host: "127.0.0.1", port: 0, policy, appDir: dir });
  } catch (e) {
    await Promise.allSettled([q?.close(0), admin?.close(0), gateway?.close(0), web?.close()]);
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const targets: Target[] = [
    ...[QueryService, AlertService, DeviceService, DeviceCommandService, AuditService].map((service) => ({ service: service as DescService, grpcAddress: q!.address })),
    { service: AdminService, grpcAddress: admin.address },
    { service: ModelGatewayService, grpcAddress: gateway.address },
    ...[QueryService, AlertService, AdminService, ConfigService, DeviceService, DeviceCommandService, AuditService].map((service) => ({ service: service as DescService, httpUrl: web!.url })),
  ];
  return {
    targets,
    grpcAddresses: [q.address, admin.address, gateway.address],
    internalErrors,
    async close() {
      await Promise.allSettled([q!.close(0), admin!.close(0), gateway!.close(0), web!.close()]);
      await gw!.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
