import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IServiceSpec } from "kubernetes-models/v1/ServiceSpec";
import { containerEnv, hostPort, keyOf, podConfig, podLabels, portNumber, REPO, roleOf, selects, shoalContainer, type K8sObject, type Workload } from "../../unit/deploy/manifests.js";

/**
 * A rendered pod as a local process (the pod simulation, test/integration/pod-simulation.test.ts):
 * the container's command line and environment taken from the rendered manifests, with the
 * mapping below from the cluster's names to this machine. Everything the mapping does is listed in
 * `PodProcess.mapped` so that the test (and its reader) sees exactly what differs from the pod.
 *
 * The mapping, and why each entry is needed:
 * - command: the image's `ENTRYPOINT ["node","bin/shoal.mjs"]` in WORKDIR /app with the container's
 *   `args` → `node <repo>/bin/shoal.mjs <args>` (the container sets no `command`; one that does is a finding).
 * - the ConfigMap file mounted over `/app/config/<file>`: written into a temp folder next to a copy
 *   of the repository's config/default.yaml (the image's), and `SHOAL_CONFIG_DIR` (which Shoal's
 *   config loader honours) points at that folder instead of /app/config.
 * - cluster Service addresses in the resolved configuration (`ADDRESS_KEYS`): each must be in the
 *   caller's `services` table (`host:port` → local URL/address) and is overridden with `SHOAL__<KEY>`,
 *   the mechanism the overlays use. An address not in the table throws (a finding, not hidden).
 * - container ports: each declared containerPort is found among the configured ports (`PORT_KEYS`)
 *   and moved to a free local port with `SHOAL__<KEY>` (bridge and runtime both serve 8080: each
 *   gets its own). A declared port no configuration key serves throws.
 * - credentials: the Secret's placeholders are kept where the local service ignores them (Consul
 *   without ACLs, NATS without authorization, Weaviate double without a key, the bridge's own MQTT
 *   account, which the bridge creates); ClickHouse's user, the Redis URL (its password),
 *   SHOAL_SECRET_KEY (the placeholder is no key) and the broker's dynamic-security admin password
 *   are replaced (`credentials`, and the service table for the Redis URL).
 * - configured ports the container does not declare → 0 (see below).
 * - HOSTNAME: `<workload>-0`, as a StatefulSet's first pod (the node id / MQTT client id).
 * - `extra`: sizing the caller states (fewer partitions/workers, one NATS replica), reported.
 */

/** Configuration keys naming another service (value: URL or host:port). */
export const ADDRESS_KEYS = ["nats.url", "mqtt.url", "clickhouse.url", "consul.url", "redis.url", "vectors.weaviate.url", "console.adminAddress", "gateway.client.address"] as const;

/** Configuration keys of ports a role serves. */
export const PORT_KEYS = ["grpc.webPort", "admin.port", "query.port", "query.webPort", "gateway.listen.port", "gateway.listen.metricsPort"] as const;

/** `SHOAL__A__B` for the key `a.b` (Shoal matches these case-insensitively). */
export const envName = (key: string): string => `SHOAL__${key.split(".").map((s) => s.toUpperCase()).join("__")}`;

/** A Shoal pod as a process to start. */
export interface PodProcess {
  readonly workload: Workload;
  readonly role: string;
  readonly container: IContainer;
  /** argv after `node`. */
  readonly argv: readonly string[];
  /** The full environment of the process (not merged with the test's). */
  readonly env: Readonly<Record<string, string>>;
  /** containerPort → local port. */
  readonly ports: ReadonlyMap<number, number>;
  /** Every mapping applied: `what: cluster → local`. */
  readonly mapped: readonly string[];
}

export interface PodMapping {
  /** Cluster `host:port` → local URL or address (same form as the configured value). */
  readonly services: Readonly<Record<string, string>>;
  /**
   * Local credentials replacing Secret placeholders the local services reject: when the pod's
   * environment has the key (e.g. SHOAL__CLICKHOUSE__PASSWORD), these variables are set.
   */
  readonly credentials: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Extra SHOAL__* settings for every pod (sizing). */
  readonly extra: Readonly<Record<string, string>>;
  /** The local port of a workload's container port (see `localPorts`). */
  readonly localPort: (w: Workload, containerPort: number) => number;
}

function get(obj: unknown, key: string): unknown {
  return key.split(".").reduce<unknown>((o, k) => (o !== null && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), obj);
}

/** The process of a rendered workload's Shoal container, mapped to this machine (see the module comment). */
export function podProcess(w: Workload, objs: readonly K8sObject[], m: PodMapping): PodProcess {
  const c = shoalContainer(w);
  const mapped: string[] = [];
  if (c.command !== undefined) throw new Error(`${w.metadata.name}: container sets command ${JSON.stringify(c.command)}; the simulation runs the image's ENTRYPOINT`);
  const argv = [join(REPO, "bin", "shoal.mjs"), ...(c.args ?? [])];
  mapped.push(`command: node bin/shoal.mjs (WORKDIR /app) → node ${join(REPO, "bin", "shoal.mjs")}`);

  // The ConfigMap mount → a temp config folder (SHOAL_CONFIG_DIR).
  const dir = mkdtempSync(join(tmpdir(), `shoal-pod-${roleOf(w)}-`));
  writeFileSync(join(dir, "default.yaml"), readFileSync(join(REPO, "config", "default.yaml")));
  for (const mount of c.volumeMounts ?? []) {
    if (!mount.mountPath.startsWith("/app/config/")) continue;
    const vol = w.spec.template.spec?.volumes?.find((v) => v.name === mount.name);
    if (vol?.configMap?.name === undefined) throw new Error(`${w.metadata.name}: ${mount.mountPath} is not mounted from a ConfigMap`);
    writeFileSync(join(dir, mount.mountPath.slice("/app/config/".length)), keyOf(objs, "ConfigMap", vol.configMap.name, mount.subPath ?? ""));
    mapped.push(`mount: ${mount.mountPath} (ConfigMap ${vol.configMap.name}) → ${dir} via SHOAL_CONFIG_DIR`);
  }

  const podEnv = containerEnv(c, objs);
  const { resolved } = podConfig(w, objs);
  const env: Record<string, string> = { ...podEnv, HOSTNAME: `${w.metadata.name}-0`, SHOAL_CONFIG_DIR: dir };

  for (const key of ADDRESS_KEYS) {
    const value = get(resolved.config, key);
    if (typeof value !== "string" || value === "") continue;
    const { host, port } = hostPort(value);
    // A default left on loopback: the manifests do not give this pod the setting (the role does
    // not use it, else it fails to connect: the harness serves nothing on the defaults' ports).
    if (host === "127.0.0.1" || host === "localhost") {
      mapped.push(`${key}: ${value} (default, not set by the manifests) → unchanged`);
      continue;
    }
    const local = m.services[`${host}:${port}`];
    if (local === undefined) throw new Error(`${w.metadata.name}: ${key} = ${value} names ${host}:${port}, which the pod simulation's service table does not map`);
    const auth = new URL(value.includes("://") ? value : `tcp://${value}`).password;
    env[envName(key)] = local;
    mapped.push(`${key}: ${auth !== "" ? value.replace(auth, "***") : value} → ${local}`);
  }
  for (const [trigger, vars] of Object.entries(m.credentials)) {
    if (!(trigger in podEnv)) continue;
    Object.assign(env, vars);
    mapped.push(`credentials ${Object.keys(vars).join(", ")} → the local service's`);
  }

  const ports = new Map<number, number>();
  for (const p of c.ports ?? []) {
    const key = PORT_KEYS.find((k) => get(resolved.config, k) === p.containerPort);
    if (key === undefined) throw new Error(`${w.metadata.name}: containerPort ${p.containerPort} (${p.name ?? ""}) is no configured port`);
    const local = m.localPort(w, p.containerPort);
    ports.set(p.containerPort, local);
    env[envName(key)] = String(local);
    mapped.push(`port ${p.name ?? ""} ${p.containerPort} (${key}) → 127.0.0.1:${local}`);
  }
  // Ports the configuration serves but the container does not declare: in a pod they bind in the
  // pod's own network namespace (reachable by no Service or probe); here every process shares one,
  // so they are moved to a free port (0; metricsPort 0 = off). Listed: each one is a finding.
  for (const key of PORT_KEYS) {
    const v = get(resolved.config, key);
    if (typeof v !== "number" || v <= 0 || (c.ports ?? []).some((p) => p.containerPort === v)) continue;
    env[envName(key)] = "0";
    mapped.push(`configured port ${v} (${key}) not declared by this container → 0 (a free port / off), in case the role serves it`);
  }
  for (const [k, v] of Object.entries(m.extra)) {
    mapped.push(`sizing ${k}: ${env[k] ?? "(config)"} → ${v}`);
    env[k] = v;
  }
  return { workload: w, role: roleOf(w), container: c, argv, env, ports, mapped };
}

/**
 * A free local port for every container port of every workload (`<workload>/<containerPort>` →
 * port), and the entries of Shoal's own Services for the service table: `<service>:<port>` →
 * `127.0.0.1:<local port of the selected workload's target port>`, so that pods reach each other
 * (console → shoal-runtime:50055, runtimes → shoal-gateway:50061) as through the Services.
 */
export async function localPorts(
  workloads: readonly Workload[],
  objs: readonly K8sObject[],
  freePort: () => Promise<number>,
): Promise<{ localPort: (w: Workload, containerPort: number) => number; services: Record<string, string> }> {
  const table = new Map<string, number>();
  for (const w of workloads) for (const p of shoalContainer(w).ports ?? []) table.set(`${w.metadata.name}/${p.containerPort}`, await freePort());
  const localPort = (w: Workload, containerPort: number): number => {
    const n = table.get(`${w.metadata.name}/${containerPort}`);
    if (n === undefined) throw new Error(`${w.metadata.name}: no container port ${containerPort}`);
    return n;
  };
  const services: Record<string, string> = {};
  for (const svc of objs.filter((o) => o.kind === "Service") as (K8sObject & { spec: IServiceSpec })[]) {
    const w = workloads.find((x) => selects({ matchLabels: svc.spec.selector ?? {} }, podLabels(x)));
    if (w === undefined) continue;
    for (const sp of svc.spec.ports ?? []) {
      const target = portNumber(sp.targetPort ?? sp.port, w);
      if (target !== undefined) services[`${svc.metadata.name}:${sp.port}`] = `127.0.0.1:${localPort(w, target)}`;
    }
  }
  return { localPort, services };
}
