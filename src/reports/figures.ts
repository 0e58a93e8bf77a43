import type { Period } from "./periods.js";
import { scopeLabel, type ReportScope } from "./schedule.js";

/** One metric over a period and scope, from the readings rollups. */
export interface MetricFigures {
  readonly metric: string;
  /** Readings of the metric. */
  readonly samples: number;
  /** Devices that sent it. */
  readonly devices: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** Population standard deviation, from the sum and the sum of squares. */
  readonly stddev: number;
  /** Highest anomaly score of the metric, in [0, 1]. */
  readonly maxScore: number;
}

/** A device among the highest anomaly scores of the period. */
export interface TopDevice {
  readonly deviceId: string;
  readonly metric: string;
  readonly maxScore: number;
}

/** Alert transitions of one rule in the period. */
export interface AlertFigures {
  readonly rule: string;
  readonly raised: number;
  readonly cleared: number;
}

/** What a report is made of: everything stored about the scope in the period. */
export interface ReportFigures {
  /** Devices with readings. */
  readonly devices: number;
  readonly readings: number;
  /** By metric name. */
  readonly metrics: readonly MetricFigures[];
  /** Highest max score first. */
  readonly topDevices: readonly TopDevice[];
  /** Anomalies stored (rows of `analyses`, each anomaly once). */
  readonly anomalies: number;
  /**
   * Incidents they make: anomalies of one fault a few readings apart (another metric's, the
   * device-level model's) join the incident the first opened and count once; only its first is explained.
   */
  readonly incidents: number;
  /** By rule name. */
  readonly alerts: readonly AlertFigures[];
}

/** Metric figures from merged rollup sums; stddev never NaN (rounding can make the variance slightly negative). */
export function metricFigures(metric: string, devices: number, samples: number, min: number, max: number, sum: number, sumSquares: number, maxScore: number): MetricFigures {
  const mean = samples > 0 ? sum / samples : 0;
  const variance = samples > 0 ? sumSquares / samples - mean * mean : 0;
  return { metric, samples, devices, min, max, mean, stddev: Math.sqrt(Math.max(0, variance)), maxScore };
}

/** A number as a report shows it: integers as they are, others with 3 significant decimals at most. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  const s = a >= 1000 ? x.toFixed(0) : a >= 1 ? x.toFixed(2) : x.toPrecision(3);
  return String(Number(s));
}

/** The title of a report: `fleet-hourly: fleet, 2024-05-01T10:00:00.000Z – 2024-05-01T11:00:00.000Z`. */
export function reportTitle(schedule: string, scope: ReportScope, p: Period): string {
  return `${schedule}: ${scopeLabel(scope)}, ${new Date(p.fromMs).toISOString()} – ${new Date(p.toMs).toISOString()}`;
}

/**
 * The figure lines given to the model (one fact per line), at most `maxItems`: the overview, each
 * metric, the devices with the highest scores, anomalies and incidents, alerts by rule. When there are more, the
 * last line says how many were left out.
 */
export function buildItems(scope: ReportScope, f: ReportFigures, maxItems: number): string[] {
  const lines: string[] = [];
  const who = scope.kind === "fleet" ? "Fleet" : `Group ${scope.group}`;
  if (f.readings === 0) lines.push(`${who}: no readings in this period`);
  else lines.push(`${who}: ${f.devices} device(s) sent ${f.readings} reading(s) of ${f.metrics.length} metric(s)`);
  for (const m of f.metrics) {
    lines.push(`${m.metric}: ${m.samples} samples from ${m.devices} device(s), min ${fmt(m.min)}, max ${fmt(m.max)}, mean ${fmt(m.mean)}, stddev ${fmt(m.stddev)}, max anomaly score ${fmt(m.maxScore)}`);
  }
  for (const d of f.topDevices) lines.push(`High anomaly score: ${d.deviceId} (${d.metric}) ${fmt(d.maxScore)}`);
  lines.push(`Anomalies: ${f.anomalies} in ${f.incidents} incident(s)`);
  for (const a of f.alerts) lines.push(`Alert rule ${a.rule}: ${a.raised} raised, ${a.cleared} cleared`);
  const max = Math.max(1, Math.floor(maxItems));
  if (lines.length <= max) return lines;
  if (max === 1) return lines.slice(0, 1);
  return [...lines.slice(0, max - 1), `(${lines.length - max + 1} more figure line(s) left out)`];
}

/** The body of a report: the model's summary, then the figures as compact tables (Markdown). */
export function reportBody(summary: string, f: ReportFigures): string {
  const out = [summary.trim(), "", `Devices ${f.devices}, readings ${f.readings}, anomalies ${f.anomalies} in ${f.incidents} incident(s).`];
  if (f.metrics.length > 0) {
    out.push("", "| metric | samples | devices | min | max | mean | stddev | max score |", "|---|---|---|---|---|---|---|---|");
    for (const m of f.metrics) out.push(`| ${m.metric} | ${m.samples} | ${m.devices} | ${fmt(m.min)} | ${fmt(m.max)} | ${fmt(m.mean)} | ${fmt(m.stddev)} | ${fmt(m.maxScore)} |`);
  }
  if (f.topDevices.length > 0) out.push("", `Top devices by anomaly score: ${f.topDevices.map((d) => `${d.deviceId} (${d.metric}) ${fmt(d.maxScore)}`).join(", ")}.`);
  if (f.alerts.length > 0) out.push("", `Alerts raised/cleared by rule: ${f.alerts.map((a) => `${a.rule} ${a.raised}/${a.cleared}`).join(", ")}.`);
  return out.join("\n");
}
