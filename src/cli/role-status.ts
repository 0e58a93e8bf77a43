import { Registry } from "prom-client";
import type { RoleContext } from "./load.js";
import { createMetricsRegistry, type StatsSource } from "../observability/metrics.js";
import { startStatusServer } from "../status-page/status-server.js";

/** Options of {@link startRoleStatus}. */
export interface RoleStatusOptions {
  /** `/readyz` (default: always ready) and why not. */
  readonly ready?: () => boolean;
  readonly readyReason?: () => string;
  /** `/healthz`'s "degraded: …" (recent incidents). */
  readonly degraded?: () => string;
  /** Register more metrics on the role's registry; returns what to refresh before each scrape. */
  readonly extend?: (metrics: Registry) => () => Promise<void>;
}

/** A role's status server, once started (or not: a taken port is logged, the role runs on). */
export interface RoleStatus {
  readonly url: string | undefined;
  close(): Promise<void>;
}

/**
 * The HTTP status of a role process on `grpc.host:grpc.webPort` (8080): `/metrics` (its counters
 * as `shoal_<role>_…`, process metrics, and what the role registered in `ctx.registry`: incidents,
 * config, gRPC calls), `/healthz`, `/readyz`. Every role serves one, so Prometheus
 * scrapes every pod alike. A port already taken is logged as an error and the role runs on.
 */
export async function startRoleStatus(ctx: RoleContext, sources: Record<string, StatsSource>, o: RoleStatusOptions = {}): Promise<RoleStatus> {
  const { cfg, log } = ctx;
  const metrics = createMetricsRegistry(sources);
  const refresh = o.extend?.(metrics);
  const st = await startStatusServer({
    host: cfg.grpc.host,
    port: cfg.grpc.webPort,
    registry: Registry.merge([metrics, ctx.registry]),
    ready: o.ready ?? (() => true),
    ...(o.readyReason ? { readyReason: o.readyReason } : {}),
    ...(o.degraded ? { degraded: o.degraded } : {}),
    ...(refresh ? { refresh } : {}),
  }).then(
    (s) => {
      log.info({ url: s.url }, "status HTTP server listening (/metrics /healthz /readyz)");
      return s;
    },
    (e: Error) => {
      log.error({ err: e.message, host: cfg.grpc.host, port: cfg.grpc.webPort }, "status HTTP server not started (set grpc.webPort, 0 = a free port)");
      return undefined;
    },
  );
  return {
    url: st?.url,
    close: () => new Promise<void>((resolve) => (st ? st.server.close(() => resolve()) : resolve())),
  };
}
