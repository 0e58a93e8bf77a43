import type { Clock } from "../ports/clock.js";
import type { Incident, IncidentReporter } from "../ports/incidents.js";
import type { Log } from "../ports/log.js";
import type { MetricsRegistry } from "../ports/metrics.js";

/** Collaborators of {@link createIncidentReporter}. */
export interface IncidentReporterDeps {
  readonly log: Log;
  readonly clock: Clock;
  /** Registry for `shoal_incidents_total{kind}`; none: not counted (tests). */
  readonly metrics?: MetricsRegistry;
  /** Publishes the event on the platform subject (best effort: an incident may be that NATS is gone). */
  readonly publish?: (event: Record<string, unknown>) => void;
  /** Role that reports (goes into the event). */
  readonly role: string;
  /** How long the health state stays degraded after an incident, ms. Default 60 000. */
  readonly degradedForMs?: number;
}

/**
 * The one way to report an incident: an error-level log line, `shoal_incidents_total{kind}`,
 * an event on `shoal.events.platform`, and a degraded health state for `degradedForMs`.
 */
export function createIncidentReporter(d: IncidentReporterDeps): IncidentReporter & { readonly total: number } {
  const counter = d.metrics?.counter("shoal_incidents_total", "Incidents of the platform's own machinery (journal, store), by kind", ["kind"]);
  const degradedForMs = d.degradedForMs ?? 60_000;
  const lastAt = new Map<string, number>();
  let total = 0;
  return {
    get total() {
      return total;
    },
    report(i) {
      total++;
      const at = d.clock.now();
      lastAt.set(i.kind, at);
      d.log.error({ incident: i.kind, ...i.detail }, i.message);
      counter?.inc({ kind: i.kind });
      try {
        d.publish?.({ kind: i.kind, role: d.role, atMs: at, message: i.message, detail: i.detail ?? {} });
      } catch {
        // The log line and the metric carry it; the subject is best effort.
      }
    },
    degradedReason() {
      const now = d.clock.now();
      const recent = [...lastAt].filter(([, at]) => now - at < degradedForMs).sort((a, b) => b[1] - a[1]);
      return recent.length === 0 ? "" : `degraded: ${recent.map(([k, at]) => `${k} ${Math.round((now - at) / 1000)}s ago`).join(", ")}`;
    },
  };
}

export type { Incident, IncidentReporter };
