import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { IService } from "kubernetes-models/v1/Service";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { IScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import type { IProbe } from "kubernetes-models/v1/Probe";
import { ConfigError, type ShoalConfig } from "../../../src/config/index.js";
import { partitionConsumerName } from "../../../src/domain/subjects.js";
import { connectionsOf, DEPENDENCY_PODS, HEALTH_SERVICES, NAMESPACE, ROLES_WITHOUT_PROBES } from "./topology.js";
import { MODELS, quantity } from "./schemas.js";
import { createKnownFieldsCheck, KNOWN_KINDS, type KnownFieldsCheck } from "./known-fields.js";
import type { IServiceMonitor } from "./service-monitor.js";
import {
  hostPort,
  isWorkload,
  K8S_DIR,
  kustomizeVersion,
  networkAllows,
  OVERLAYS,
  podConfig,
  podLabels,
  portNumber,
  renderOverlay,
  REPO,
  roleOf,
  selects,
  shoalContainer,
  type Endpoint,
  type K8sObject,
  type Overlay,
  type Workload,
} from "./manifests.js";

/**
 * deploy/k8s, validated without a cluster (none can run here): every overlay is rendered with
 * `kubectl kustomize`, every object checked against the Kubernetes schemas (kubernetes-models 4.5.1,
 * @kubernetes-models/keda 0.4.2: types, required fields, enums) and for unknown fields
 * (known-fields.ts), and the objects against each other and against Shoal's own configuration
 * schema. "Renders and validates", never "deployed": nothing here talks to an API server.
 */

let check: KnownFieldsCheck;
beforeAll(() => {
  check = createKnownFieldsCheck();
}, 60_000);

it("kubectl with kustomize >= 5 is installed (renders offline, no cluster)", () => {
  expect(Number(/^v(\d+)/.exec(kustomizeVersion())?.[1])).toBeGreaterThanOrEqual(5);
});

it("the ConfigMap's copy of config/prod.yaml is config/prod.yaml (kustomize reads nothing outside deploy/k8s)", () => {
  const copy = readFileSync(join(K8S_DIR, "base", "config", "prod.yaml"), "utf8");
  expect(copy, "deploy/k8s/base/config/prod.yaml differs: run `cp config/prod.yaml deploy/k8s/base/config/prod.yaml`").toBe(readFileSync(join(REPO, "config", "prod.yaml"), "utf8"));
});

it("the dependencies' README names every dependency host the configuration points at", () => {
  const readme = readFileSync(join(K8S_DIR, "dependencies", "README.md"), "utf8");
  for (const host of Object.keys(DEPENDENCY_PODS)) expect(readme, `deploy/k8s/dependencies/README.md names the Service \`${host}:<port>\``).toMatch(new RegExp(`\`${host}:\\d+\``));
});

describe.each(OVERLAYS)("deploy/k8s/overlays/%s", (overlay: Overlay) => {
  let objs: K8sObject[];
  let workloads: Workload[];
  let policies: INetworkPolicy[];
  let configs: Map<string, { cfg: ShoalConfig; env: Record<string, string>; sources: Map<string, string> }>;
  const nsLabels = () => ({ ...(objs.find((o) => o.kind === "Namespace")?.metadata.labels ?? {}), "kubernetes.io/metadata.name": NAMESPACE });

  beforeAll(() => {
    objs = renderOverlay(overlay);
    workloads = objs.filter(isWorkload);
    policies = objs.filter((o) => o.kind === "NetworkPolicy") as unknown as INetworkPolicy[];
    configs = new Map();
    for (const w of workloads) {
      try {
        const { resolved, env } = podConfig(w, objs);
        configs.set(w.metadata.name, { cfg: resolved.config, env, sources: resolved.sources });
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
      }
    }
  }, 60_000);

  const workloadByRole = (role: string) => {
    const w = workloads.find((x) => roleOf(x) === role);
    if (w === undefined) throw new Error(`no workload of role ${role}`);
    return w;
  };
  const configOf = (w: Workload) => {
    const c = configs.get(w.metadata.name);
    if (c === undefined) throw new Error(`${w.metadata.name}: its configuration did not resolve (see the configuration test)`);
    return c;
  };
  const podEndpoint = (w: Workload): Endpoint => ({ namespace: NAMESPACE, namespaceLabels: nsLabels(), podLabels: podLabels(w), ports: new Map((shoalContainer(w).ports ?? []).filter((p) => p.name).map((p) => [p.name!, p.containerPort])) });

  it("renders every role: bridge, runtime, gateway, console, alerts, reports", () => {
    expect(workloads.map(roleOf).sort()).toEqual(["alerts", "bridge", "console", "gateway", "reports", "runtime"]);
    expect(workloads.find((w) => roleOf(w) === "bridge")?.kind, "the bridge keeps its MQTT sessions: stable pod names").toBe("StatefulSet");
  });

  it("every object validates against its Kubernetes schema and has no unknown field", () => {
    const problems: string[] = [];
    for (const o of objs) {
      const key = `${o.apiVersion}/${o.kind}`;
      expect(KNOWN_KINDS.has(key), `${key} ${o.metadata.name}: no schema to check it against`).toBe(true);
      try {
        MODELS[key]!(o);
      } catch (e) {
        problems.push(`${o.kind}/${o.metadata.name}: ${(e as Error).message}`);
      }
      for (const p of check(o)) problems.push(`${o.kind}/${o.metadata.name}: ${p}`);
      if (o.kind !== "Namespace") expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(NAMESPACE);
    }
    expect(problems).toEqual([]);
  });

  it("every workload selects its own pods, and every Service, PDB and NetworkPolicy selects a real workload", () => {
    for (const w of workloads) expect(selects(w.spec.selector, podLabels(w)), `${w.metadata.name}: selector vs template labels`).toBe(true);
    const services = objs.filter((o) => o.kind === "Service") as unknown as IService[];
    for (const s of services) {
      const selected = workloads.filter((w) => selects({ matchLabels: s.spec!.selector! }, podLabels(w)));
      expect(selected.length, `Service ${s.metadata!.name} selects one workload`).toBe(1);
      for (const p of s.spec!.ports!) expect(portNumber(p.targetPort ?? p.port, selected[0]!), `Service ${s.metadata!.name} port ${p.name}: a port of the pod`).toBeDefined();
    }
    for (const pdb of objs.filter((o) => o.kind === "PodDisruptionBudget") as unknown as IPodDisruptionBudget[]) {
      expect(workloads.filter((w) => selects(pdb.spec!.selector, podLabels(w))).length, `PDB ${pdb.metadata!.name} selects one workload`).toBe(1);
    }
    for (const np of policies) expect(workloads.some((w) => selects(np.spec!.podSelector, podLabels(w))), `NetworkPolicy ${np.metadata!.name} selects a workload`).toBe(true);
    for (const w of workloads) {
      expect(objs.filter((o) => o.kind === "PodDisruptionBudget").some((p) => selects((p as unknown as IPodDisruptionBudget).spec!.selector, podLabels(w))), `${w.metadata.name} has a PDB`).toBe(true);
      expect(objs.some((o) => o.kind === "ServiceAccount" && o.metadata.name === w.spec.template.spec!.serviceAccountName), `${w.metadata.name}: its ServiceAccount exists`).toBe(true);
      if (w.kind === "StatefulSet") expect(services.some((s) => s.metadata!.name === w.spec.serviceName && s.spec!.clusterIP === "None"), `${w.metadata.name}: headless governing Service`).toBe(true);
    }
  });

  it("every container: non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp, resources", () => {
    for (const w of workloads) {
      const pod = w.spec.template.spec!;
      const c = shoalContainer(w);
      const name = w.metadata.name;
      expect(pod.containers, `${name}: one container`).toHaveLength(1);
      expect(pod.securityContext?.runAsNonRoot, name).toBe(true);
      expect(pod.securityContext?.runAsUser, `${name}: the image's uid`).toBe(10001);
      expect(pod.securityContext?.seccompProfile?.type, name).toBe("RuntimeDefault");
      expect(pod.automountServiceAccountToken, `${name}: no API token`).toBe(false);
      expect(pod.enableServiceLinks, `${name}: service links would add SHOAL_*-like variables`).toBe(false);
      expect(pod.hostNetwork ?? false, name).toBe(false);
      const sc = c.securityContext;
      expect(sc?.allowPrivilegeEscalation, name).toBe(false);
      expect(sc?.readOnlyRootFilesystem, name).toBe(true);
      expect(sc?.capabilities?.drop, name).toContain("ALL");
      expect(sc?.capabilities?.add ?? [], name).toEqual([]);
      expect(sc?.privileged ?? false, name).toBe(false);
      expect(sc?.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type, name).toBe("RuntimeDefault");
      expect(c.volumeMounts?.some((m) => m.mountPath === "/tmp" && pod.volumes?.find((v) => v.name === m.name)?.emptyDir !== undefined), `${name}: a writable /tmp (tsx's cache)`).toBe(true);
      for (const m of c.volumeMounts ?? []) expect(pod.volumes?.some((v) => v.name === m.name), `${name}: volume ${m.name}`).toBe(true);
      const r = c.resources;
      for (const k of ["cpu", "memory"] as const) {
        expect(quantity(r?.requests?.[k]), `${name}: requests.${k}`).toBeGreaterThan(0);
        expect(quantity(r?.limits?.[k]), `${name}: limits.${k}`).toBeGreaterThanOrEqual(quantity(r?.requests?.[k]));
      }
      expect(c.image, `${name}: a tagged image`).toMatch(/:[\w.-]+$/);
      expect(c.image, name).not.toMatch(/:latest$/);
    }
  });

  it("every role that serves a port has startup, liveness and readiness probes on a port it declares (the others are listed)", () => {
    for (const w of workloads) {
      const role = roleOf(w);
      const c = shoalContainer(w);
      const probes: Array<[string, IProbe | undefined]> = [["startupProbe", c.startupProbe], ["livenessProbe", c.livenessProbe], ["readinessProbe", c.readinessProbe]];
      if (role in ROLES_WITHOUT_PROBES) {
        expect(c.ports ?? [], `${role} is listed as serving nothing (${ROLES_WITHOUT_PROBES[role]})`).toEqual([]);
        for (const [k, p] of probes) expect(p, `${w.metadata.name}.${k}`).toBeUndefined();
        continue;
      }
      for (const [k, p] of probes) {
        expect(p, `${w.metadata.name}.${k}`).toBeDefined();
        const port = p!.grpc?.port ?? p!.httpGet?.port ?? p!.tcpSocket?.port;
        const n = portNumber(port, w);
        expect(n !== undefined && (c.ports ?? []).some((x) => x.containerPort === n), `${w.metadata.name}.${k}: port ${String(port)} is a container port`).toBe(true);
        if (p!.grpc?.service !== undefined) expect(HEALTH_SERVICES.has(p!.grpc.service), `${w.metadata.name}.${k}: health service ${p!.grpc.service}`).toBe(true);
      }
      expect(c.livenessProbe!.grpc?.service ?? "", `${w.metadata.name}: liveness asks "the process is up", not readiness`).toBe("");
      if (c.livenessProbe!.httpGet) expect(c.livenessProbe!.httpGet.path).toBe("/healthz");
    }
    // Readiness of the status-page roles is /readyz (runtime: owned and caught up).
    for (const role of ["bridge", "runtime", "alerts", "reports"]) expect(shoalContainer(workloadByRole(role)).readinessProbe?.httpGet?.path, role).toBe("/readyz");
    expect(shoalContainer(workloadByRole("runtime")).livenessProbe?.grpc?.port, "runtime liveness: gRPC health of the admin port").toBe(50055);
  });

  it("every container's configuration validates: the ConfigMap's prod.yaml over default.yaml, with its environment", () => {
    for (const w of workloads) {
      try {
        podConfig(w, objs);
      } catch (e) {
        throw new Error(`${w.metadata.name}: ${(e as Error).message}`, { cause: e });
      }
    }
  });

  it("every environment variable is one Shoal reads, and every SHOAL__* one names a configuration key", () => {
    for (const w of workloads) {
      const { env, sources, cfg } = configOf(w);
      for (const name of Object.keys(env)) {
        if (name === "HOSTNAME") continue;
        if (name.startsWith("SHOAL__")) {
          const leaves = [...sources].filter(([, s]) => s === `env:${name}`);
          expect(leaves.length, `${w.metadata.name}: ${name} sets no configuration key`).toBeGreaterThan(0);
        } else {
          expect(["SHOAL_ENV", "SHOAL_SECRET_KEY"], `${w.metadata.name}: ${name} is not read by Shoal`).toContain(name);
        }
      }
      expect(cfg.env, w.metadata.name).toBe("prod");
      expect(cfg.nodeId, `${w.metadata.name}: nodeId = the pod name (HOSTNAME)`).toBe(`${w.metadata.name}-0`);
    }
  });

  it("the Secret holds placeholders only (CHANGE-ME), and every key of it is used", () => {
    const secrets = objs.filter((o) => o.kind === "Secret") as Array<K8sObject & { data?: Record<string, string> }>;
    expect(secrets).toHaveLength(1);
    const used = new Set(workloads.flatMap((w) => (shoalContainer(w).env ?? []).map((e) => e.valueFrom?.secretKeyRef?.key).filter((k) => k !== undefined)));
    for (const [k, v] of Object.entries(secrets[0]!.data ?? {})) {
      expect(Buffer.from(v, "base64").toString("utf8"), `${k}: not a placeholder`).toMatch(/CHANGE-ME/);
      expect(used.has(k), `${k} is used by a container`).toBe(true);
    }
  });

  it("containers declare the ports the configuration binds, on 0.0.0.0", () => {
    for (const w of workloads) {
      const { cfg } = configOf(w);
      const ports = new Map((shoalContainer(w).ports ?? []).map((p) => [p.name, p.containerPort]));
      const expected: Record<string, Array<[string, number, string]>> = {
        bridge: [["status", cfg.grpc.webPort, cfg.grpc.host]],
        runtime: [["status", cfg.grpc.webPort, cfg.grpc.host], ["admin", cfg.admin.port, cfg.admin.host]],
        gateway: [["grpc", cfg.gateway.listen.port, cfg.gateway.listen.host], ["metrics", cfg.gateway.listen.metricsPort, cfg.gateway.listen.host]],
        console: [["grpc", cfg.query.port, cfg.query.host], ["grpc-web", cfg.query.webPort, cfg.query.host], ["status", cfg.grpc.webPort, cfg.grpc.host]],
        alerts: [["status", cfg.grpc.webPort, cfg.grpc.host]],
        reports: [["status", cfg.grpc.webPort, cfg.grpc.host]],
      };
      const want = expected[roleOf(w)]!;
      expect(ports.size, `${w.metadata.name}: exactly the served ports`).toBe(want.length);
      for (const [name, port, host] of want) {
        expect(ports.get(name), `${w.metadata.name}: port ${name}`).toBe(port);
        expect(host, `${w.metadata.name}: ${name} must be reachable from other pods`).toBe("0.0.0.0");
      }
    }
  });

  it("the runtime rolls one node at a time and has time to hand its partitions off", () => {
    const rt = workloadByRole("runtime");
    expect(rt.kind).toBe("Deployment");
    expect(rt.spec.strategy?.type).toBe("RollingUpdate");
    expect(rt.spec.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
    expect(rt.spec.strategy?.rollingUpdate?.maxSurge).toBe(1);
    const { cfg, env } = configOf(rt);
    // SIGTERM: a bounded handoff of at most cluster.leaveTimeout, then pumps, sink and NATS close.
    expect(rt.spec.template.spec!.terminationGracePeriodSeconds!, "terminationGracePeriodSeconds >= cluster.leaveTimeout + 15 s").toBeGreaterThanOrEqual(cfg.cluster.leaveTimeoutMs / 1000 + 15);
    expect(cfg.consul.url, "cluster mode: runtimes are interchangeable only with Consul leases").toBeDefined();
    expect(cfg.cluster.enabled).toBe(true);
    // Worker threads: explicit, at most the CPU limit (0 would count the node's cores).
    const cpus = quantity(shoalContainer(rt).resources?.limits?.cpu);
    expect(cfg.runtime.workers, `SHOAL__RUNTIME__WORKERS=${env.SHOAL__RUNTIME__WORKERS}`).toBeGreaterThanOrEqual(1);
    expect(cfg.runtime.workers).toBeLessThanOrEqual(Math.ceil(cpus));
    // The bridge waits at most 10 s for its last PubAcks.
    expect(workloadByRole("bridge").spec.template.spec!.terminationGracePeriodSeconds!).toBeGreaterThan(10);
  });

  it("NetworkPolicies: default deny, and each role reaches exactly what its configuration names", () => {
    const deny = policies.find((p) => (p.spec!.ingress ?? []).length === 0 && (p.spec!.egress ?? []).length === 0 && (p.spec!.policyTypes ?? []).includes("Egress") && (p.spec!.policyTypes ?? []).includes("Ingress"));
    expect(deny, "a default-deny policy").toBeDefined();
    for (const w of workloads) expect(selects(deny!.spec!.podSelector, podLabels(w)), `default deny selects ${w.metadata.name}`).toBe(true);
    const services = objs.filter((o) => o.kind === "Service") as unknown as IService[];
    const failures: string[] = [];
    for (const w of workloads) {
      const { cfg } = configOf(w);
      for (const address of connectionsOf(roleOf(w), cfg)) {
        const { host, port } = hostPort(address);
        let dst: Endpoint;
        let dstPort = port;
        const svc = services.find((s) => s.metadata!.name === host);
        if (svc !== undefined) {
          const target = workloads.find((x) => selects({ matchLabels: svc.spec!.selector! }, podLabels(x)))!;
          const sp = svc.spec!.ports!.find((p) => p.port === port);
          if (sp === undefined) {
            failures.push(`${w.metadata.name} -> ${address}: Service ${host} has no port ${port}`);
            continue;
          }
          dstPort = portNumber(sp.targetPort ?? sp.port, target)!;
          dst = podEndpoint(target);
        } else if (DEPENDENCY_PODS[host] !== undefined) {
          dst = { namespace: NAMESPACE, namespaceLabels: nsLabels(), podLabels: DEPENDENCY_PODS[host].labels };
          dstPort = DEPENDENCY_PODS[host].port?.(port) ?? port;
        } else {
          dst = { namespace: "outside", namespaceLabels: {}, podLabels: undefined };
        }
        const r = networkAllows(policies, podEndpoint(w), dst, dstPort);
        if (!r.egress) failures.push(`${w.metadata.name} -> ${address} (port ${dstPort}): no egress rule`);
        if (!r.ingress) failures.push(`${w.metadata.name} -> ${address} (port ${dstPort}): refused by the target's ingress`);
      }
    }
    expect(failures).toEqual([]);
    // Nothing else reaches the admin gRPC of a runtime (DrainNode, RestartWorker) than the console.
    const rt = workloadByRole("runtime");
    for (const w of workloads.filter((x) => roleOf(x) !== "console" && roleOf(x) !== "runtime")) {
      expect(networkAllows(policies, podEndpoint(w), podEndpoint(rt), 50055).ingress, `${w.metadata.name} -> runtime admin`).toBe(false);
    }
    // Prometheus (namespace "monitoring") scrapes the metrics ports; the ingress controller reaches the console.
    const prometheus: Endpoint = { namespace: "monitoring", namespaceLabels: { "kubernetes.io/metadata.name": "monitoring" }, podLabels: { "app.kubernetes.io/name": "prometheus" } };
    for (const [role, port] of [["bridge", "status"], ["runtime", "status"], ["gateway", "metrics"]] as const) {
      const t = workloadByRole(role);
      expect(networkAllows(policies, prometheus, podEndpoint(t), portNumber(port, t)!).ingress, `prometheus -> ${role}:${port}`).toBe(true);
    }
    const ingress: Endpoint = { namespace: "ingress-nginx", namespaceLabels: { "kubernetes.io/metadata.name": "ingress-nginx" }, podLabels: { "app.kubernetes.io/name": "ingress-nginx" } };
    const consolePod = workloadByRole("console");
    expect(networkAllows(policies, ingress, podEndpoint(consolePod), portNumber("grpc-web", consolePod)!).ingress, "ingress controller -> console").toBe(true);
    expect(networkAllows(policies, prometheus, podEndpoint(consolePod), portNumber("grpc-web", consolePod)!).ingress, "prometheus -> console").toBe(false);
  });

  if (overlay === "dev") {
    it("dev: one replica of each role, no CRD objects", () => {
      for (const w of workloads) expect(w.spec.replicas, w.metadata.name).toBe(1);
      expect(objs.filter((o) => !o.apiVersion.match(/^(v1|apps\/v1|policy\/v1|networking\.k8s\.io\/v1)$/)).map((o) => o.kind)).toEqual([]);
    });
  }

  if (overlay === "prod") {
    it("prod: every role has at least two pods (the runtime's count is the ScaledObject's), NATS streams keep 3 copies", () => {
      for (const w of workloads) {
        if (roleOf(w) === "runtime") expect(w.spec.replicas, "no count: the HPA owns it").toBeUndefined();
        else expect(w.spec.replicas, w.metadata.name).toBeGreaterThanOrEqual(2);
        expect(configOf(w).cfg.nats.replicas, w.metadata.name).toBe(3);
      }
    });

    it("prod: the ScaledObject scales the runtime on the lag of every journal partition's consumer", () => {
      const so = objs.find((o) => o.kind === "ScaledObject") as unknown as IScaledObject;
      const rt = workloadByRole("runtime");
      const { cfg } = configOf(rt);
      expect(so.spec.scaleTargetRef.name).toBe(rt.metadata.name);
      expect(so.spec.scaleTargetRef.kind ?? "Deployment").toBe(rt.kind);
      expect(so.spec.minReplicaCount!).toBeGreaterThanOrEqual(2);
      expect(so.spec.maxReplicaCount!).toBeLessThanOrEqual(cfg.nats.partitions); // more runtimes than partitions own nothing
      const triggers = so.spec.triggers;
      expect(triggers.every((t) => t.type === "nats-jetstream")).toBe(true);
      const wanted = Array.from({ length: cfg.nats.partitions }, (_, p) => partitionConsumerName(p));
      expect(triggers.map((t) => t.metadata.consumer).sort()).toEqual(wanted);
      for (const t of triggers) {
        expect(t.metadata.stream).toBe(cfg.nats.stream);
        expect(t.metadata.account).toBe("$G");
        // Ready (every partition at most readyLag behind) never asks for more than the minimum.
        expect(Number(t.metadata.lagThreshold)).toBeGreaterThanOrEqual(cfg.cluster.readyLag);
        // KEDA runs in its own namespace: the monitoring endpoint is fully qualified, in ours.
        expect(t.metadata.natsServerMonitoringEndpoint).toMatch(new RegExp(`^[a-z0-9-]+\\.${NAMESPACE}\\.svc\\.cluster\\.local:8222$`));
        expect(DEPENDENCY_PODS[hostPort(cfg.nats.url.split(",")[0]!).host], "the endpoint's NATS is the configured one").toBeDefined();
      }
    });

    it("prod: the ServiceMonitor scrapes the metrics port of every role that exports metrics", () => {
      const sm = objs.find((o) => o.kind === "ServiceMonitor") as unknown as IServiceMonitor;
      const services = (objs.filter((o) => o.kind === "Service") as unknown as IService[]).filter((s) => selects(sm.spec.selector, s.metadata!.labels));
      const ports = new Set(sm.spec.endpoints!.map((e) => e.port));
      expect(services.map((s) => s.metadata!.name).sort()).toEqual(["shoal-alerts", "shoal-bridge", "shoal-console", "shoal-gateway", "shoal-reports", "shoal-runtime"]);
      for (const s of services) expect(s.spec!.ports!.some((p) => ports.has(p.name)), `${s.metadata!.name}: a scraped port`).toBe(true);
      for (const e of sm.spec.endpoints!) {
        expect(services.some((s) => s.spec!.ports!.some((p) => p.name === e.port)), `endpoint ${e.port} names a Service port`).toBe(true);
        expect(e.path).toBe("/metrics");
      }
    });
  }
});
