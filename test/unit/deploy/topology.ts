import type { ShoalConfig } from "../../../src/config/index.js";
import { AdminService } from "../../../src/gen/shoal/v1/admin_pb.js";
import { ModelGatewayService } from "../../../src/gen/shoal/v1/gateway_pb.js";
import { QueryService } from "../../../src/gen/shoal/v1/query_pb.js";

/**
 * What the manifests are checked against: the namespace, which roles serve no port, the health
 * services probes may ask, the dependencies' pods, and what each role connects to.
 */

export const NAMESPACE = "shoal";

/** Roles that serve no port (no health endpoint, no /metrics) and so have no probes. */
export const ROLES_WITHOUT_PROBES: Readonly<Record<string, string>> = {};

/** Health-check service names a readiness probe may ask ("" is liveness: the process is up). */
export const HEALTH_SERVICES = new Set([AdminService.typeName, ModelGatewayService.typeName, QueryService.typeName]);

/**
 * The pods of the dependencies, as their charts and operator label them with the release names of
 * deploy/k8s/dependencies, by the host name config/prod.yaml uses; `port` maps a Service port to
 * the pod's (Weaviate's Service listens on 80, its pods on 8080). Anything else is outside.
 */
export const DEPENDENCY_PODS: Readonly<Record<string, { labels: Record<string, string>; port?: (servicePort: number) => number }>> = {
  nats: { labels: { "app.kubernetes.io/name": "nats", "app.kubernetes.io/instance": "nats", "app.kubernetes.io/component": "nats" } },
  "clickhouse-shoal": { labels: { "clickhouse.altinity.com/chi": "shoal", "clickhouse.altinity.com/app": "chop" } },
  "consul-server": { labels: { app: "consul", component: "server", release: "consul" } },
  "redis-master": { labels: { "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": "redis", "app.kubernetes.io/component": "master" } },
  weaviate: { labels: { app: "weaviate", "app.kubernetes.io/name": "weaviate" }, port: (p) => (p === 80 ? 8080 : p) },
};

/** What each role connects to, from its resolved configuration (docs/architecture.md, src/cli/*.command.ts). */
export function connectionsOf(role: string, cfg: ShoalConfig): string[] {
  const nats = cfg.nats.url.split(",");
  const consul = cfg.consul.url !== undefined ? [cfg.consul.url] : [];
  const redis = cfg.redis.url !== undefined ? [cfg.redis.url] : [];
  const readSide = [...nats, ...consul, cfg.clickhouse.url, cfg.gateway.client.address, ...(cfg.vectors.store === "weaviate" ? [cfg.vectors.weaviate.url] : [])];
  switch (role) {
    case "bridge":
      return [...nats, ...consul, cfg.mqtt.url];
    case "runtime":
      return [...nats, ...consul, cfg.clickhouse.url, cfg.gateway.client.address, ...(cfg.actorCache.store === "redis" ? redis : [])];
    case "gateway":
      return [...consul, ...(cfg.gateway.cache.redisUrl !== undefined ? [cfg.gateway.cache.redisUrl] : redis)];
    case "console":
      return [...readSide, ...(cfg.console.adminAddress !== "" ? [cfg.console.adminAddress] : [])];
    case "query":
      return readSide;
    case "alerts":
      return [...nats, ...consul];
    case "reports":
      return [...nats, ...consul, cfg.clickhouse.url, cfg.gateway.client.address];
    default:
      throw new Error(`no connection list for role ${role}`);
  }
}
