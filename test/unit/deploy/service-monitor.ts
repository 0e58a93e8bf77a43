import type { IObjectMeta } from "@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta";
import type { ILabelSelector } from "@kubernetes-models/apimachinery/apis/meta/v1/LabelSelector";

/**
 * The Prometheus operator's ServiceMonitor (monitoring.coreos.com/v1), the subset of its CRD's
 * fields a Shoal manifest may use, transcribed from the CRD (prometheus-operator 0.84,
 * `example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml`). No model package of
 * it is pinned in this repository, so known-fields.ts checks ServiceMonitors against this
 * declaration: a field outside the subset is reported as unknown (add it here from the CRD).
 * Declarations only: nothing imports this at run time.
 */
export interface IServiceMonitor {
  apiVersion: "monitoring.coreos.com/v1";
  kind: "ServiceMonitor";
  metadata?: IObjectMeta;
  spec: {
    /** Label selector of the Services to scrape (their Endpoints). */
    selector: ILabelSelector;
    namespaceSelector?: { any?: boolean; matchNames?: string[] };
    endpoints?: IServiceMonitorEndpoint[];
    jobLabel?: string;
    targetLabels?: string[];
    podTargetLabels?: string[];
    sampleLimit?: number;
    scrapeProtocols?: string[];
  };
}

/** One scraped port of the selected Services. */
export interface IServiceMonitorEndpoint {
  /** Name of the Service port (not the container port). */
  port?: string;
  targetPort?: number | string;
  path?: string;
  scheme?: string;
  params?: { [name: string]: string[] };
  interval?: string;
  scrapeTimeout?: string;
  honorLabels?: boolean;
  honorTimestamps?: boolean;
  enableHttp2?: boolean;
  followRedirects?: boolean;
  filterRunning?: boolean;
  relabelings?: IRelabelConfig[];
  metricRelabelings?: IRelabelConfig[];
}

/** Relabeling rule (Prometheus relabel_config). */
export interface IRelabelConfig {
  action?: string;
  sourceLabels?: string[];
  separator?: string;
  targetLabel?: string;
  regex?: string;
  modulus?: number;
  replacement?: string;
}
