import { createConsulKv } from "../adapters/consul/index.js";
import { createAccessCheck, type AccessCheck } from "../access/index.js";
import { promMetrics } from "../observability/prom-metrics.js";
import { createCallMetrics } from "../grpc/call-metrics.js";
import { startTracing } from "../observability/start-tracing.js";
import type { Tracing } from "../ports/tracing.js";
import { createServer } from "node:http";
import type { Server } from "node:http";
import { Registry, collectDefaultMetrics } from "prom-client";
import { createKeyvStore } from "../adapters/keyv/index.js";
import { createOpenAIProvider } from "../adapters/openai/index.js";
import { createConfigWatcher, loadConfig } from "../config/index.js";
import type { ConfigWatcher } from "../config/index.js";
import { createGateway, createGatewayMetrics, createLocalModels, createLocalScoreFn, createRedisSpendStore, startGatewayServer } from "../gateway/index.js";
import type { GatewayConfig, GatewayService, RedisEvalClient, SpendStore } from "../gateway/index.js";
import { createLogger } from "../observability/logger.js";
import type { Logger } from "../observability/logger.js";
import type { ModelProvider } from "../ports/gateway.js";
import type { CommandIo } from "./io.js";
import { untilSignal, UsageError } from "./io.js";
import { serverCredentials } from "../grpc/tls.js";
import type { TlsConfig } from "../config/schema-tls.js";

/** A running gateway role. */
export interface GatewayRole {
  readonly gateway: GatewayService;
  /** `host:port` of the gRPC server. */
  readonly address: string;
  readonly port: number;
  readonly registry: Registry;
  /** Apply a new `gateway:` config section live. */
  setConfig(cfg: GatewayConfig): void;
  close(): Promise<void>;
}

export interface GatewayRoleDeps {
  readonly env: Record<string, string | undefined>;
  readonly log?: Pick<Logger, "info" | "warn">;
  /** Redis URL to use when `gateway.cache.redisUrl` is not set (the root `redis.url`). */
  readonly defaultRedisUrl?: string | undefined;
  /** The root `redis.password`, used with `defaultRedisUrl`. */
  readonly defaultRedisPassword?: string | undefined;
  readonly registry?: Registry;
  /**
   * The access check of the gRPC port (`createAccessCheck(cfg.console.tokens)`): every gateway call
   * needs an operator token (the internal callers' "runtime" token). Absent: no check.
   */
  readonly access?: AccessCheck;
  /** TLS of the gRPC port (the root config's `tls`); absent or disabled: plaintext. */
  readonly tls?: TlsConfig;
  /** Spans of traced calls (`startTracing(root.tracing, "shoal-gateway")`); closed with the role. Default: none. */
  readonly tracing?: Tracing;
}

/** Build the remote providers named in config (API keys from config or the environment; never logged). */
export function buildProviders(cfg: GatewayConfig, env: Record<string, string | undefined>): Map<string, ModelProvider> {
  const out = new Map<string, ModelProvider>();
  for (const [id, p] of Object.entries(cfg.providers)) {
    if (p.kind !== "openai") continue;
    out.set(id, createOpenAIProvider({ id, baseUrl: p.baseUrl, apiKey: p.apiKey ?? env[p.apiKeyEnv], azureApiVersion: p.azureApiVersion, structuredOutput: p.structuredOutput }));
  }
  return out;
}

/** Provider settings safe to log. */
function describeProviders(cfg: GatewayConfig) {
  return Object.fromEntries(Object.entries(cfg.providers).map(([id, p]) => [id, { kind: p.kind, baseUrl: p.baseUrl, hasKey: Boolean(p.apiKey), rateLimit: p.rateLimit, maxConcurrency: p.maxConcurrency }]));
}

/** Composition root of the gateway: providers, Keyv cache, metrics, service, gRPC server. */
export async function startGatewayRole(cfg: GatewayConfig, deps: GatewayRoleDeps): Promise<GatewayRole> {
  const registry = deps.registry ?? new Registry();
  const metrics = createGatewayMetrics(registry);
  const redisUrl = cfg.cache.redisUrl ?? deps.defaultRedisUrl;
  let cacheErrors = 0;
  const keyv = await createKeyvStore({
    redisUrl,
    // The root redis.password belongs to the root redis.url only.
    redisPassword: cfg.cache.redisUrl === undefined ? deps.defaultRedisPassword : undefined,
    namespace: cfg.cache.namespace,
    onError: (err) => {
      // Rate-limit the log: a Redis outage would otherwise log on every request.
      if (cacheErrors++ % 1000 === 0) deps.log?.warn({ err: (err as Error).message, count: cacheErrors }, "gateway cache error (answers continue without cache)");
    },
  });
  const providers = buildProviders(cfg, deps.env);
  // With a Redis cache, the budget's spend is shared by all gateway replicas through the same client.
  const redisStore = keyv.store as { getClient?: () => Promise<RedisEvalClient> };
  const spendStore: SpendStore | undefined = redisUrl && typeof redisStore.getClient === "function" ? createRedisSpendStore(() => redisStore.getClient!()) : undefined;
  let spendErrors = 0;
  const gateway = createGateway({
    config: cfg,
    providers,
    cache: keyv,
    metrics,
    local: createLocalModels({ scoreFn: createLocalScoreFn() }),
    ...(spendStore ? { spendStore } : {}),
    ...(deps.tracing?.enabled ? { tracing: deps.tracing } : {}),
    onSpendStoreError: (err) => {
      if (spendErrors++ % 1000 === 0) deps.log?.warn({ err: (err as Error).message, count: spendErrors }, "shared budget store error (this gateway uses its own ledger meanwhile)");
    },
  });
  const server = await startGatewayServer(gateway, { host: cfg.listen.host, port: cfg.listen.port, ...(deps.tls ? { credentials: serverCredentials(deps.tls) } : {}), ...(deps.access ? { access: deps.access } : {}), ...(deps.tracing?.enabled ? { tracing: deps.tracing } : {}), metrics: createCallMetrics(promMetrics(registry)) });
  let metricsServer: Server | undefined;
  if (cfg.listen.metricsPort > 0) {
    metricsServer = createServer((req, res) => {
      if (req.url !== "/metrics") return res.writeHead(404).end();
      registry.metrics().then((text) => res.writeHead(200, { "content-type": registry.contentType }).end(text), () => res.writeHead(500).end());
    });
    await new Promise<void>((resolve) => metricsServer!.listen(cfg.listen.metricsPort, cfg.listen.host, resolve));
  }
  deps.log?.info({ address: server.address, cache: redisUrl ? "redis" : "memory", budget: spendStore && cfg.budget.shared ? "shared (redis)" : "per process", providers: describeProviders(cfg), metricsPort: cfg.listen.metricsPort }, "gateway started");
  return {
    gateway,
    address: server.address,
    port: server.port,
    registry,
    setConfig: (next) => gateway.setConfig(next),
    async close() {
      await server.close();
      await gateway.close();
      await deps.tracing?.close().catch(() => {});
      await keyv.disconnect().catch(() => {});
      if (metricsServer) await new Promise<void>((resolve) => metricsServer!.close(() => resolve()));
    },
  };
}

const HELP = `usage: shoal gateway [--host H] [--port N] [--metrics-port N] [--redis URL]

Runs the model gateway (gRPC shoal.v1.ModelGatewayService + grpc.health.v1 + reflection).
Configuration: the \`gateway:\` section (config files < Consul < env); flags override it.
`;

/** Parse `--name value` / `--name=value` flags. */
function parseFlags(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) throw new UsageError(`unexpected argument "${a}"`);
    const eq = a.indexOf("=");
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (a === "--help") out.help = "1";
    else {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      out[a.slice(2)] = v;
    }
  }
  return out;
}

function portFlag(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new UsageError(`--${name} must be an integer in [0, 65535], got "${v}"`);
  return n;
}

/** `shoal gateway`: serve the gateway until SIGINT/SIGTERM. */
export async function run(argv: string[], io: CommandIo): Promise<number> {
  const flags = parseFlags(argv);
  if (flags.help) {
    io.stdout(HELP);
    return 0;
  }
  const known = new Set(["host", "port", "metrics-port", "redis", "help"]);
  for (const k of Object.keys(flags)) if (!known.has(k)) throw new UsageError(`unknown flag --${k}\n${HELP}`);
  const resolved = await loadConfig({ connectKv: createConsulKv, env: io.env });
  const root = resolved.config;
  const log = createLogger({ level: root.log.level, name: "gateway" });
  const listen = {
    ...(flags.host ? { host: flags.host } : {}),
    ...(flags.port ? { port: portFlag("port", flags.port) } : {}),
    ...(flags["metrics-port"] ? { metricsPort: portFlag("metrics-port", flags["metrics-port"]) } : {}),
  };
  // Flags override the resolved section (already validated by the config module).
  const withFlags = (g: GatewayConfig): GatewayConfig => ({
    ...g,
    listen: { ...g.listen, ...listen },
    cache: { ...g.cache, ...(flags.redis ? { redisUrl: flags.redis } : {}) },
  });
  const registry = new Registry();
  // Process metrics (shoal_process_*, shoal_nodejs_*) as on every role's /metrics.
  collectDefaultMetrics({ register: registry, prefix: "shoal_" });
  const access = createAccessCheck(root.console.tokens);
  if (!access.enforced) log.warn({ host: root.gateway.listen.host }, "no console.tokens configured: every caller of the gateway gRPC port may call it (keep gateway.listen.host on loopback)");
  const role = await startGatewayRole(withFlags(root.gateway), { env: io.env, log, defaultRedisUrl: root.redis.url, defaultRedisPassword: root.redis.password, registry, access, tls: root.tls, tracing: await startTracing(root.tracing, "shoal-gateway") });
  io.stdout(`shoal gateway listening on ${role.address} (gRPC: shoal.v1.ModelGatewayService, grpc.health.v1.Health, reflection)\n`);
  let watcher: ConfigWatcher | undefined;
  try {
    watcher = await createConfigWatcher({ connectKv: createConsulKv, env: io.env, logger: log, registry, initial: resolved });
    watcher.subscribe((next) => {
      try {
        role.setConfig(withFlags(next.config.gateway));
        log.info({ version: next.version }, "gateway config applied");
      } catch (e) {
        log.warn({ err: (e as Error).message }, "gateway config rejected; keeping the last good one");
      }
    });
  } catch (e) {
    log.warn({ err: (e as Error).message }, "config watcher unavailable; running on the startup config");
  }
  const timer = setInterval(() => log.info({ stats: role.gateway.stats() }, "gateway counters"), 30_000);
  timer.unref();
  await untilSignal();
  clearInterval(timer);
  await watcher?.close();
  await role.close();
  return 0;
}
