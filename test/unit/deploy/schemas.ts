import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from "kubernetes-models/v1";
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import type { K8sObject } from "./manifests.js";
import type { IServiceMonitor } from "./service-monitor.js";

/** The schema validators of kubernetes-models, by `apiVersion/kind` (ServiceMonitor: none pinned, see service-monitor.ts). */
export const MODELS: Readonly<Record<string, (o: K8sObject) => void>> = {
  "v1/Namespace": (o) => new Namespace(o as never).validate(),
  "v1/ServiceAccount": (o) => new ServiceAccount(o as never).validate(),
  "v1/ConfigMap": (o) => new ConfigMap(o as never).validate(),
  "v1/Secret": (o) => new Secret(o as never).validate(),
  "v1/Service": (o) => new Service(o as never).validate(),
  "apps/v1/Deployment": (o) => new Deployment(o as never).validate(),
  "apps/v1/StatefulSet": (o) => new StatefulSet(o as never).validate(),
  "policy/v1/PodDisruptionBudget": (o) => new PodDisruptionBudget(o as never).validate(),
  "networking.k8s.io/v1/NetworkPolicy": (o) => new NetworkPolicy(o as never).validate(),
  "keda.sh/v1alpha1/ScaledObject": (o) => new ScaledObject(o as never).validate(),
  "monitoring.coreos.com/v1/ServiceMonitor": (o) => {
    const spec = (o as unknown as IServiceMonitor).spec as IServiceMonitor["spec"] | undefined;
    if (spec?.selector === undefined) throw new Error("spec.selector is required");
  },
};

/** Kubernetes quantities as numbers (cores, bytes). */
export function quantity(q: string | number | undefined): number {
  if (q === undefined) return NaN;
  if (typeof q === "number") return q;
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G)?$/.exec(q);
  if (m === null) return NaN;
  const unit = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ""] ?? 1;
  return Number(m[1]) * unit;
}
