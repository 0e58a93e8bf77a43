import type { ServiceImpl } from "@connectrpc/connect";
import type { ShoalConfig } from "../../config/index.js";
import type { MetricsRegistry } from "../../ports/metrics.js";
import { createCallMetrics } from "../../grpc/call-metrics.js";
import type { Logger } from "../../observability/logger.js";
import { createAccessCheck } from "../../access/index.js";
import { createAdminClient, createAdminService, createRemoteAdminService, type AdminClient } from "../../admin/index.js";
import { startConsoleServer, type ConsoleServer } from "../../console/index.js";
import { AdminService } from "../../gen/shoal/v1/admin_pb.js";
import { AlertService } from "../../gen/shoal/v1/alert_pb.js";
import { QueryService } from "../../gen/shoal/v1/query_pb.js";
import { webService, type WebService } from "../../grpc/web-server.js";
import { SHOAL_VERSION } from "./admin-role.js";
import { createConfigService } from "../../config-service/index.js";
import { createConsulKv } from "../../adapters/consul/index.js";
import { ConfigService } from "../../gen/shoal/v1/config_pb.js";
import type { ConfigWatcher } from "../../config/index.js";
import type { AuditLog } from "../../ports/audit.js";

/**
 * ConfigService of a process (the same operations as `shoal config`, on the Consul document this
 * process's configuration comes from); WatchConfig follows the process's own watcher.
 */
export function configWebService(env: Record<string, string | undefined>, watcher: Pick<ConfigWatcher, "subscribe">, log: Logger): WebService {
  const impl = createConfigService({
    env,
    connectKv: createConsulKv,
    changes: (listener) => watcher.subscribe(() => listener()),
    onInternalError: (method, err) => log.error({ method, err: (err as Error)?.message ?? String(err) }, "config service call failed"),
  });
  return webService(ConfigService, impl);
}

/** What the console serves besides its app. */
export interface ConsoleRoleDeps {
  /** The read side's implementations (`startQueryRole(...).query` and `.alerts`). */
  readonly query: ServiceImpl<typeof QueryService>;
  readonly alerts: ServiceImpl<typeof AlertService>;
  /**
   * This process's AdminService when it runs the actor runtime (`startAdminRole(...).service`).
   * Absent: calls are forwarded to `console.adminAddress`; without one either, an AdminService of
   * this process answers GetInfo/GetCounters and FAILED_PRECONDITION for the cluster and runtime parts.
   */
  readonly admin?: ServiceImpl<typeof AdminService>;
  /** Roles of this process (GetInfo of the last case above). Default ["console"]. */
  readonly roles?: readonly string[];
  /** More services on the same port and under the same access check, e.g. `[webService(ConfigService, configImpl)]`. */
  readonly extraServices?: readonly WebService[];
  /** Where mutating calls are recorded (the query role's audit log). */
  readonly audit?: AuditLog;
  /** Where the RED metrics of its calls go (`shoal_grpc_server_*`). Absent: none. */
  readonly metrics?: MetricsRegistry;
}

/** The console of a process. */
export interface ConsoleRole {
  /** `http://host:port` of the console; undefined when off (`query.webPort` -1) or not started (logged). */
  readonly url: string | undefined;
  /** Where its AdminService answers from. */
  readonly admin: "local" | "remote" | "none";
  close(): Promise<void>;
}

/**
 * Starts the operators' console (docs/adr/0018-console.md) on `query.host:query.webPort`: the
 * built app from `console.appDir` (default dist/console), QueryService, AlertService, AdminService
 * (see {@link ConsoleRoleDeps.admin}) and `extraServices` over gRPC-web and Connect, every call
 * checked against `console.tokens` (none: no check, a warning is logged), and /healthz. A port
 * that cannot be bound is logged and the process runs on without the console.
 */
export async function startConsoleRole(cfg: ShoalConfig, log: Logger, deps: ConsoleRoleDeps): Promise<ConsoleRole> {
  const q = cfg.query;
  let client: AdminClient | undefined;
  let admin: ServiceImpl<typeof AdminService>;
  let source: ConsoleRole["admin"];
  if (deps.admin) {
    admin = deps.admin;
    source = "local";
  } else if (cfg.console.adminAddress !== "") {
    client = createAdminClient(cfg.console.adminAddress, { timeoutMs: q.timeoutMs, tls: cfg.tls });
    admin = createRemoteAdminService(client);
    source = "remote";
  } else {
    admin = createAdminService({ info: { nodeId: cfg.nodeId, roles: deps.roles ?? ["console"], version: SHOAL_VERSION, startedAtMs: Date.now() }, counters: () => ({}) });
    source = "none";
  }
  const closeClient = () => client?.close();
  if (q.webPort < 0) {
    log.info("console off (query.webPort is -1)");
    closeClient();
    return { url: undefined, admin: source, close: async () => {} };
  }
  const access = createAccessCheck(cfg.console.tokens);
  if (!access.enforced) log.warn({ host: q.host }, "no console.tokens configured: every caller of the console is an admin (keep query.host on loopback)");
  const services = [webService(QueryService, deps.query), webService(AlertService, deps.alerts), webService(AdminService, admin), ...(deps.extraServices ?? [])];
  let server: ConsoleServer | undefined;
  try {
    server = await startConsoleServer(services, {
      tls: cfg.tls,
      host: q.host,
      port: q.webPort,
      policy: { timeoutMs: q.timeoutMs, maxConcurrentPerCaller: q.maxConcurrentPerCaller, maxStreamsPerCaller: q.maxStreamsPerCaller, access, ...(deps.audit ? { audit: deps.audit } : {}), ...(deps.metrics ? { metrics: createCallMetrics(deps.metrics) } : {}) },
      appDir: cfg.console.appDir,
    });
    log.info({ url: `${server.url}/`, appDir: server.appDir, admin: source === "remote" ? cfg.console.adminAddress : source, services: services.map((s) => s.service.typeName) }, "console listening (app, gRPC-web, Connect)");
  } catch (e) {
    log.error({ err: (e as Error).message, host: q.host, port: q.webPort }, "console not started (set query.webPort, 0 = a free port, -1 = none)");
    closeClient();
  }
  return {
    url: server?.url,
    admin: source,
    async close() {
      await server?.close();
      closeClient();
    },
  };
}
