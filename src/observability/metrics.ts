import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

/** A role's plain counters, read at scrape time (nested objects and booleans allowed). */
export type StatsSource = () => object;

/**
 * Keys (the last segment of a path) whose values are levels, not running totals: exported as
 * gauges without `_total`. Everything else numeric is a monotonic counter (`_total`); booleans are
 * 0/1 gauges; strings are skipped.
 */
const LEVEL_KEY = /^(held|pending\w*|inFlight|queued|active\w*|owned\w*|depth|size|lag\w*|\w*At(Ms)?|leader|connected|watchers|open|\w*HoldSeconds)$/;
/** `<thing>By<Label>` objects of numbers become one counter labelled by `<label>` (e.g. rejectedByCode → {code}). */
const BY_LABEL = /^(.+)By([A-Z]\w*)$/;

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/[^A-Za-z0-9_]/g, "_").toLowerCase();

/** A numeric leaf of a stats object: its path and how it is read. */
interface Leaf {
  readonly path: readonly string[];
  readonly kind: "counter" | "gauge" | "labelled";
  readonly label?: string;
}

function leaves(v: unknown, path: string[] = [], out: Leaf[] = []): Leaf[] {
  if (typeof v !== "object" || v === null || path.length > 4) return out;
  for (const [k, x] of Object.entries(v)) {
    const by = BY_LABEL.exec(k);
    if (by !== null && typeof x === "object" && x !== null && Object.values(x).every((n) => typeof n === "number")) {
      out.push({ path: [...path, k], kind: "labelled", label: snake(by[2]!) });
    } else if (typeof x === "number") out.push({ path: [...path, k], kind: LEVEL_KEY.test(k) ? "gauge" : "counter" });
    else if (typeof x === "boolean") out.push({ path: [...path, k], kind: "gauge" });
    else if (typeof x === "object" && x !== null && !Array.isArray(x)) leaves(x, [...path, k], out);
  }
  return out;
}

function read(src: object, path: readonly string[]): unknown {
  let v: unknown = src;
  for (const k of path) v = typeof v === "object" && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

/**
 * The name of a role counter: `shoal_<role>_<path in snake case>` plus `_total` for counters
 * (`shoal_bridge_accepted_total`, `shoal_alerts_notifier_dead_lettered_total`, `shoal_runtime_owned_partitions`).
 */
export function roleMetricName(role: string, path: readonly string[], kind: Leaf["kind"]): string {
  const base = `shoal_${snake(role)}_${path.map((p) => snake(BY_LABEL.exec(p)?.[1] ?? p)).join("_")}`;
  return kind === "gauge" ? base : kind === "labelled" ? `${base}_by_${snake(BY_LABEL.exec(path[path.length - 1]!)![2]!)}_total` : `${base}_total`;
}

/**
 * A Prometheus registry with the process's default metrics (`shoal_process_*`, `shoal_nodejs_*`)
 * and every numeric field of each role's stats as its own metric, named by {@link roleMetricName}
 * and read at scrape time (roles keep cheap plain counters on their hot paths; nothing is pushed
 * per message). The fields are found once, from the stats objects as they are now.
 */
export function createMetricsRegistry(sources: Record<string, StatsSource>, opts: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "shoal_" });
  for (const [role, src] of Object.entries(sources)) {
    for (const leaf of leaves(src())) {
      const name = roleMetricName(role, leaf.path, leaf.kind);
      if (registry.getSingleMetric(name) !== undefined) continue;
      const help = `${role} ${leaf.path.join(".")}`;
      if (leaf.kind === "gauge") {
        new Gauge({
          name,
          help,
          registers: [registry],
          collect() {
            const v = read(src(), leaf.path);
            if (typeof v === "number" && Number.isFinite(v)) this.set(v);
            else if (typeof v === "boolean") this.set(v ? 1 : 0);
          },
        });
      } else {
        new Counter({
          name,
          help: `${help} (since the process started)`,
          labelNames: leaf.label !== undefined ? [leaf.label] : [],
          registers: [registry],
          collect() {
            const v = read(src(), leaf.path);
            this.reset();
            if (leaf.label !== undefined && typeof v === "object" && v !== null) {
              for (const [l, n] of Object.entries(v)) if (typeof n === "number" && n > 0) this.inc({ [leaf.label]: l }, n);
            } else if (typeof v === "number" && Number.isFinite(v) && v > 0) this.inc(v);
          },
        });
      }
    }
  }
  return registry;
}
