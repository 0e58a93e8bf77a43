import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import type { ILabelSelector } from "@kubernetes-models/apimachinery/apis/meta/v1/LabelSelector";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodTemplateSpec } from "kubernetes-models/v1/PodTemplateSpec";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { INetworkPolicyPeer } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer";
import type { INetworkPolicyPort } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort";
import { resolveConfig, type ResolvedConfig } from "../../../src/config/index.js";

/**
 * The rendered Kubernetes manifests of deploy/k8s and what the tests ask of them: rendering with
 * `kubectl kustomize`, label selection, the environment and configuration of a container, and a
 * small NetworkPolicy evaluator. Shared by k8s.test.ts and dockerfile.test.ts.
 */

export const REPO = fileURLToPath(new URL("../../../", import.meta.url));
export const K8S_DIR = join(REPO, "deploy", "k8s");
export const OVERLAYS = ["dev", "prod"] as const;
export type Overlay = (typeof OVERLAYS)[number];

/** Any rendered object. */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly [field: string]: unknown;
}

/** A Deployment or StatefulSet as far as the checks read it. */
export interface Workload extends K8sObject {
  readonly spec: {
    readonly replicas?: number;
    readonly selector: ILabelSelector;
    readonly template: IPodTemplateSpec;
    readonly serviceName?: string;
    readonly strategy?: { readonly type?: string; readonly rollingUpdate?: { readonly maxUnavailable?: number | string; readonly maxSurge?: number | string } };
  };
}

const KUBECTL_HELP =
  "install kubectl >= 1.27 (its built-in kustomize 5 renders deploy/k8s): https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/ " +
  "(Debian's kubernetes-client package is 1.20, too old). No cluster is needed: `kubectl kustomize` renders offline.";

/** `kubectl kustomize <dir>`, or an error saying how to install kubectl. */
export function kustomize(dir: string): string {
  const r = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.error !== undefined && (r.error as NodeJS.ErrnoException).code === "ENOENT") throw new Error(`kubectl not installed: ${KUBECTL_HELP}`);
  if (r.error !== undefined) throw r.error;
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed (exit ${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** The version of kustomize built into kubectl (`v5.5.0`), or an error saying how to install kubectl. */
export function kustomizeVersion(): string {
  const r = spawnSync("kubectl", ["version", "--client", "-o", "json"], { encoding: "utf8" });
  if (r.error !== undefined && (r.error as NodeJS.ErrnoException).code === "ENOENT") throw new Error(`kubectl not installed: ${KUBECTL_HELP}`);
  const v = (JSON.parse(r.stdout) as { kustomizeVersion?: string }).kustomizeVersion;
  if (v === undefined) throw new Error(`kubectl has no built-in kustomize: ${KUBECTL_HELP}`);
  return v;
}

/** Renders an overlay and parses its objects. */
export function renderOverlay(overlay: Overlay): K8sObject[] {
  return parseAllDocuments(kustomize(join(K8S_DIR, "overlays", overlay)))
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

export const isWorkload = (o: K8sObject): o is Workload => o.kind === "Deployment" || o.kind === "StatefulSet";

/** The role a workload runs: its `app.kubernetes.io/component` label. */
export const roleOf = (w: Workload): string => w.metadata.labels?.["app.kubernetes.io/component"] ?? "";

/** The Shoal container of a workload (every Shoal pod has one container named `shoal`). */
export function shoalContainer(w: Workload): IContainer {
  const c = w.spec.template.spec?.containers.find((x) => x.name === "shoal");
  if (c === undefined) throw new Error(`${w.kind}/${w.metadata.name}: no container named "shoal"`);
  return c;
}

/** Whether a label selector selects `labels` (matchLabels and matchExpressions). An empty selector selects everything. */
export function selects(sel: ILabelSelector | undefined, labels: Readonly<Record<string, string>> = {}): boolean {
  if (sel === undefined) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]!);
    if (e.operator === "In" && !inValues) return false;
    if (e.operator === "NotIn" && inValues) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

export const podLabels = (w: Workload): Readonly<Record<string, string>> => w.spec.template.metadata?.labels ?? {};

/** Named container ports of a workload's Shoal container. */
export function namedPorts(w: Workload): Map<string, number> {
  return new Map((shoalContainer(w).ports ?? []).filter((p) => p.name !== undefined).map((p) => [p.name!, p.containerPort]));
}

/** A port given as a number or a container port name, as a number (undefined: no such name). */
export function portNumber(port: number | string | undefined, w: Workload): number | undefined {
  if (typeof port === "number") return port;
  if (port === undefined) return undefined;
  return /^\d+$/.test(port) ? Number(port) : namedPorts(w).get(port);
}

function findObject(objs: readonly K8sObject[], kind: string, name: string): K8sObject {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (o === undefined) throw new Error(`no ${kind} named ${name} in the rendered manifests`);
  return o;
}

/** The value of a key of a rendered Secret (base64-decoded) or ConfigMap. */
export function keyOf(objs: readonly K8sObject[], kind: "Secret" | "ConfigMap", name: string, key: string): string {
  const o = findObject(objs, kind, name) as K8sObject & { data?: Record<string, string>; stringData?: Record<string, string> };
  if (kind === "Secret") {
    if (o.stringData?.[key] !== undefined) return o.stringData[key];
    if (o.data?.[key] === undefined) throw new Error(`Secret ${name} has no key ${key}`);
    return Buffer.from(o.data[key], "base64").toString("utf8");
  }
  if (o.data?.[key] === undefined) throw new Error(`ConfigMap ${name} has no key ${key}`);
  return o.data[key];
}

/** The environment a container starts with: literal values, and Secret/ConfigMap references resolved from the render. */
export function containerEnv(c: IContainer, objs: readonly K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.envFrom ?? []) {
    const ref = e.secretRef ?? e.configMapRef;
    const kind = e.secretRef !== undefined ? "Secret" : "ConfigMap";
    const o = findObject(objs, kind, ref!.name!) as K8sObject & { data?: Record<string, string> };
    for (const k of Object.keys(o.data ?? {})) env[`${e.prefix ?? ""}${k}`] = keyOf(objs, kind, ref!.name!, k);
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef !== undefined) env[e.name] = keyOf(objs, "Secret", e.valueFrom.secretKeyRef.name!, e.valueFrom.secretKeyRef.key);
    else if (e.valueFrom?.configMapKeyRef !== undefined) env[e.name] = keyOf(objs, "ConfigMap", e.valueFrom.configMapKeyRef.name!, e.valueFrom.configMapKeyRef.key);
    else throw new Error(`env ${e.name}: only value, secretKeyRef and configMapKeyRef are understood by this check`);
  }
  return env;
}

/**
 * The configuration the container's process would resolve at start: the image's config/default.yaml
 * (this repository's), the ConfigMap file mounted over config/<file>, and the container's
 * environment (HOSTNAME = a pod name). No Consul layer: the document in Consul is the operators'.
 * Throws the validator's ConfigError when it does not validate.
 */
export function podConfig(w: Workload, objs: readonly K8sObject[]): { resolved: ResolvedConfig; env: Record<string, string> } {
  const c = shoalContainer(w);
  const env = { ...containerEnv(c, objs), HOSTNAME: `${w.metadata.name}-0` };
  const dir = mkdtempSync(join(tmpdir(), "shoal-k8s-config-"));
  try {
    writeFileSync(join(dir, "default.yaml"), readFileSync(join(REPO, "config", "default.yaml")));
    for (const m of c.volumeMounts ?? []) {
      if (!m.mountPath.startsWith("/app/config/")) continue;
      const vol = w.spec.template.spec?.volumes?.find((v) => v.name === m.name);
      if (vol?.configMap?.name === undefined) throw new Error(`${w.metadata.name}: ${m.mountPath} is not mounted from a ConfigMap`);
      writeFileSync(join(dir, m.mountPath.slice("/app/config/".length)), keyOf(objs, "ConfigMap", vol.configMap.name, m.subPath ?? ""));
    }
    return { resolved: resolveConfig({ env, configDir: dir }), env };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One end of a connection for the NetworkPolicy evaluator. */
export interface Endpoint {
  readonly namespace: string;
  readonly namespaceLabels: Readonly<Record<string, string>>;
  /** Pod labels; undefined: not a pod (outside the cluster). */
  readonly podLabels: Readonly<Record<string, string>> | undefined;
  /** Named ports of the destination pod (for policies naming ports). */
  readonly ports?: ReadonlyMap<string, number>;
}

function peerMatches(peer: INetworkPolicyPeer, policyNamespace: string, other: Endpoint): boolean {
  if (peer.ipBlock !== undefined) return false; // pods are not checked against IP blocks here
  if (other.podLabels === undefined) return false;
  const nsOk = peer.namespaceSelector !== undefined ? selects(peer.namespaceSelector, other.namespaceLabels) : other.namespace === policyNamespace;
  return nsOk && (peer.podSelector === undefined || selects(peer.podSelector, other.podLabels));
}

function portMatches(ports: readonly INetworkPolicyPort[] | undefined, port: number, dst: Endpoint): boolean {
  if (ports === undefined || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? "TCP") !== "TCP") return false;
    if (p.port === undefined) return true;
    const n = typeof p.port === "number" ? p.port : dst.ports?.get(p.port);
    return n !== undefined && (p.endPort !== undefined ? port >= n && port <= p.endPort : port === n);
  });
}

/**
 * Whether the policies let `src` open a TCP connection to `dst` on `port`: egress of `src`'s
 * policies and ingress of `dst`'s (a side no policy selects for that direction is open).
 */
export function networkAllows(policies: readonly INetworkPolicy[], src: Endpoint, dst: Endpoint, port: number): { egress: boolean; ingress: boolean } {
  const selecting = (e: Endpoint, type: "Ingress" | "Egress") =>
    policies.filter((p) => {
      const ns = p.metadata?.namespace ?? "";
      if (e.podLabels === undefined || e.namespace !== ns || !selects(p.spec?.podSelector, e.podLabels)) return false;
      const types = p.spec?.policyTypes ?? (p.spec?.egress !== undefined ? ["Ingress", "Egress"] : ["Ingress"]);
      return types.includes(type);
    });
  const out = selecting(src, "Egress");
  const egress =
    out.length === 0 ||
    out.some((p) => (p.spec?.egress ?? []).some((r) => (r.to === undefined || r.to.length === 0 || r.to.some((peer) => peerMatches(peer, p.metadata?.namespace ?? "", dst))) && portMatches(r.ports, port, dst)));
  const inn = selecting(dst, "Ingress");
  const ingress =
    inn.length === 0 ||
    inn.some((p) => (p.spec?.ingress ?? []).some((r) => (r.from === undefined || r.from.length === 0 || r.from.some((peer) => peerMatches(peer, p.metadata?.namespace ?? "", src))) && portMatches(r.ports, port, dst)));
  return { egress, ingress };
}

/** `host:port` of a URL or an address (`nats://a:4222`, `shoal-gateway:50061`). */
export function hostPort(address: string, defaultPort?: number): { host: string; port: number } {
  const u = address.includes("://") ? new URL(address) : new URL(`tcp://${address}`);
  const port = u.port !== "" ? Number(u.port) : (defaultPort ?? ({ "http:": 80, "https:": 443, "mqtt:": 1883, "mqtts:": 8883, "redis:": 6379 } as Record<string, number>)[u.protocol]);
  if (port === undefined) throw new Error(`${address}: no port`);
  return { host: u.hostname, port };
}

/** Long-running roles: the commands a pod may run (the others are tools that exit). */
export const ROLE_COMMANDS: ReadonlySet<string> = new Set(["up", "bridge", "runtime", "gateway", "query", "console", "alerts", "reports"]);

/** The commands `shoal` dispatches (the keys of src/cli/main.ts's command table). */
export function shoalCommands(): Set<string> {
  const text = readFileSync(join(REPO, "src", "cli", "main.ts"), "utf8");
  return new Set([...text.matchAll(/^\s{2}([a-z][a-z-]*): \{ describe:/gm)].map((m) => m[1]!));
}
