/**
 * The naming convention of Shoal's metrics (issue 18), checked against what processes really
 * export: `shoal_<part>_<thing>[_<unit>]` where `<part>` is a role or shared component (bridge,
 * runtime, gateway, grpc, sink, …); counters end in `_total`; histograms and summaries carry a
 * unit (`_seconds` or `_bytes`, or a `_<thing>` count such as `_rows`); gauges never end in
 * `_total` (they are not monotonic). The process metrics of prom-client (`shoal_process_*`,
 * `shoal_nodejs_*`) keep prom-client's own names, which Grafana's stock dashboards expect, and are
 * exempt from the gauge rule (prom-client calls some gauges `nodejs_active_handles_total`).
 */
const FAMILY = /^shoal_[a-z][a-z0-9]*_[a-z0-9_]*[a-z0-9]$/;
const DEFAULT_METRICS = /^shoal_(process|nodejs)_/;
/** Units a distribution may be measured in. */
const DISTRIBUTION_UNIT = /_(seconds|bytes|rows|readings|items|tokens)$/;

/** A duration in another unit than seconds (`_us`, `_ms`, …); `<when>_at_ms` timestamps are not durations. */
const DURATION_NOT_SECONDS = /(?<!_at)_(us|ms|micros|microseconds|millis|milliseconds|ns|nanoseconds)$/;

/** Why a metric family breaks the convention, or undefined when it does not. */
export function namingViolation(name: string, type: string): string | undefined {
  if (!FAMILY.test(name)) return `${name}: not shoal_<part>_<thing> in snake case`;
  if (type === "counter" && !name.endsWith("_total")) return `${name}: a counter must end in _total`;
  if ((type === "histogram" || type === "summary") && !DISTRIBUTION_UNIT.test(name)) return `${name}: a ${type} must name its unit (_seconds, _bytes, …)`;
  if (type === "gauge" && name.endsWith("_total") && !DEFAULT_METRICS.test(name)) return `${name}: a gauge must not end in _total`;
  if (DURATION_NOT_SECONDS.test(name)) return `${name}: durations are in _seconds`;
  return undefined;
}

/** Every convention violation among exported families (`name → type`, as in `# TYPE` lines). */
export function namingViolations(families: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [name, type] of families) {
    const v = namingViolation(name, type);
    if (v !== undefined) out.push(v);
  }
  return out.sort();
}
