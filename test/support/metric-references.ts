import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

/** Where a metric is used: a dashboard panel or an alert rule. */
export interface MetricUse {
  readonly metric: string;
  readonly where: string;
}

const NAME = /\bshoal_[a-z0-9_]+\b/g;
/** Series of a histogram or summary family: `<family>_bucket`, `_sum`, `_count`. */
const SERIES_SUFFIX = /_(bucket|sum|count)$/;

/** The Shoal metric names a PromQL expression reads. */
export function metricNamesOf(expr: string): string[] {
  return [...new Set(expr.match(NAME) ?? [])];
}

/** Metric families declared in a Prometheus text exposition (`# TYPE <name> <type>`), with their types. */
export function exportedFamilies(exposition: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** Whether `metric` (a family, or a histogram/summary series of one) is in `families`. */
export function isExported(metric: string, families: ReadonlyMap<string, string>): boolean {
  if (families.has(metric)) return true;
  const base = metric.replace(SERIES_SUFFIX, "");
  const type = families.get(base);
  return base !== metric && (type === "histogram" || type === "summary");
}

/** Every metric a dashboard panel (deploy/grafana/*.json) or alert rule (deploy/prometheus/*.yaml) queries. */
export function metricUses(deployDir: string): MetricUse[] {
  const uses: MetricUse[] = [];
  const grafana = join(deployDir, "grafana");
  for (const f of readdirSync(grafana).filter((n) => n.endsWith(".json"))) {
    const d = JSON.parse(readFileSync(join(grafana, f), "utf8")) as { panels: { title: string; targets?: { expr: string }[] }[] };
    for (const p of d.panels) for (const t of p.targets ?? []) for (const metric of metricNamesOf(t.expr)) uses.push({ metric, where: `${f}: panel "${p.title}"` });
  }
  const prom = join(deployDir, "prometheus");
  for (const f of readdirSync(prom).filter((n) => n.endsWith(".yaml"))) {
    const doc = parse(readFileSync(join(prom, f), "utf8")) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] };
    for (const g of doc.groups) for (const r of g.rules) for (const metric of metricNamesOf(r.expr)) uses.push({ metric, where: `${f}: rule ${r.alert ?? r.record}` });
  }
  return uses;
}

/** The uses whose metric is not exported by any of the expositions (dead panels and rules). */
export function deadUses(uses: readonly MetricUse[], expositions: readonly string[]): MetricUse[] {
  const families = new Map<string, string>();
  for (const e of expositions) for (const [k, v] of exportedFamilies(e)) families.set(k, v);
  return uses.filter((u) => !isExported(u.metric, families));
}
