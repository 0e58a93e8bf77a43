// bench:e2e's view of each Shoal role's main thread during a run: one /metrics scrape a second
// (heap, external memory, event-loop delay), summarised per run.

/** A role's event-loop delay over a run (ms): p99 of the worst and of the median second, and the longest delay. */
export interface LagSummary {
  readonly p99: number;
  readonly medianP99: number;
  readonly max: number;
}

/** One role's main thread in one second: V8 heap and external memory (MB), event-loop delay (ms). */
export interface RoleSecond {
  readonly heap: number;
  readonly external: number;
  /** p99 and largest event-loop delay since the previous scrape (prom-client resets its histogram on each). */
  readonly lagP99: number;
  readonly lagMax: number;
}

/**
 * Samples each role's main thread once a second until stopped (`/metrics`, prom-client's
 * defaults). Each scrape's event-loop delays cover the second since the one before: prom-client
 * resets the histogram whenever /metrics is read, so a single read after the run would see only
 * the moments since the last scrape of anyone.
 */
export function sampleRoles(ports: ReadonlyMap<string, number>): { series: Map<string, RoleSecond[]>; stop(): void } {
  const series = new Map<string, RoleSecond[]>([...ports.keys()].map((r) => [r, []]));
  const num = (text: string, name: string) => Number(new RegExp(`^${name} ([0-9.eE+-]+)$`, "m").exec(text)?.[1] ?? NaN);
  const mb = (text: string, name: string) => Math.round(num(text, name) / 2 ** 20);
  const timer = setInterval(() => {
    for (const [role, port] of ports) {
      void fetch(`http://127.0.0.1:${port}/metrics`)
        .then((r) => r.text())
        .then((t) =>
          series.get(role)!.push({
            heap: mb(t, "shoal_nodejs_heap_size_used_bytes"),
            external: mb(t, "shoal_nodejs_external_memory_bytes"),
            lagP99: num(t, "shoal_nodejs_eventloop_lag_p99_seconds") * 1000,
            lagMax: num(t, "shoal_nodejs_eventloop_lag_max_seconds") * 1000,
          }),
        )
        .catch(() => undefined);
    }
  }, 1000);
  return { series, stop: () => clearInterval(timer) };
}

/** A role's event-loop delay over the sampled seconds: p99 of the worst and of the median second, and the longest delay. */
export function lagSummary(seconds: readonly RoleSecond[]): LagSummary | undefined {
  const p99s = seconds.map((x) => x.lagP99).filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (p99s.length === 0) return undefined;
  const maxes = seconds.map((x) => x.lagMax).filter((v) => Number.isFinite(v));
  return { p99: p99s.at(-1)!, medianP99: p99s[Math.floor(p99s.length / 2)]!, max: Math.max(...maxes) };
}
