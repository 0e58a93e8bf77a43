import type { HostIntrospection } from "../ports/actor-host.js";
import type { CounterMetric, MetricsRegistry } from "../ports/metrics.js";

const COUNTERS = ["turns", "activations", "passivations", "restarts", "deadLetters", "snapshots", "skipped"] as const;
const COUNTER_NAMES: Record<(typeof COUNTERS)[number], string> = {
  turns: "shoal_runtime_turns_total",
  activations: "shoal_runtime_activations_total",
  passivations: "shoal_runtime_passivations_total",
  restarts: "shoal_runtime_actor_restarts_total",
  deadLetters: "shoal_runtime_dead_letters_total",
  snapshots: "shoal_runtime_snapshots_total",
  skipped: "shoal_runtime_replay_skipped_total",
};

/** Publishes host introspection to a metrics registry (counters as deltas, the rest as gauges). */
export interface RuntimeMetrics {
  update(view: HostIntrospection): void;
}

/** Metrics publisher; a no-op without a registry. */
export function createRuntimeMetrics(reg: MetricsRegistry | undefined): RuntimeMetrics {
  if (reg === undefined) return { update() {} };
  const counters = new Map<string, CounterMetric>();
  for (const k of COUNTERS) counters.set(k, reg.counter(COUNTER_NAMES[k], `runtime ${k}`, ["worker"]));
  const active = reg.gauge("shoal_runtime_active_actors", "active (in-memory) actors", ["worker", "actor_type"]);
  const depth = reg.gauge("shoal_runtime_mailbox_depth", "messages queued in mailboxes", ["worker"]);
  const maxDepth = reg.gauge("shoal_runtime_mailbox_depth_max", "deepest mailbox", ["worker"]);
  const latency = reg.gauge("shoal_runtime_turn_latency_seconds", "turn latency (sampled), seconds", ["worker", "quantile"]);
  const restarts = reg.counter("shoal_runtime_worker_restarts_total", "worker threads replaced after a crash", []);
  const pending = reg.gauge("shoal_runtime_pending_snapshots", "snapshots waiting for commit or the store", []);
  const logicEvents = reg.counter("shoal_actor_events_total", "counters of the actor logics (device: what became of every reading, epochs started)", ["worker", "actor_type", "event"]);
  const last = new Map<string, number>();
  let lastRestarts = 0;
  return {
    update(view) {
      for (const w of view.workers) {
        const labels = { worker: w.worker };
        for (const k of COUNTERS) {
          const id = `${w.worker}:${k}`;
          const prev = last.get(id) ?? 0;
          const cur = w[k];
          // A replaced worker starts from zero again.
          const delta = cur >= prev ? cur - prev : cur;
          if (delta > 0) counters.get(k)!.inc(labels, delta);
          last.set(id, cur);
        }
        for (const [type, c] of Object.entries(w.logicCounters)) {
          for (const [event, cur] of Object.entries(c)) {
            const id = `${w.worker}:${type}:${event}`;
            const prev = last.get(id) ?? 0;
            const delta = cur >= prev ? cur - prev : cur;
            if (delta > 0) logicEvents.inc({ worker: w.worker, actor_type: type, event }, delta);
            last.set(id, cur);
          }
        }
        for (const [type, n] of Object.entries(w.activeByType)) active.set({ worker: w.worker, actor_type: type }, n);
        depth.set(labels, w.mailboxDepth);
        maxDepth.set(labels, w.maxMailboxDepth);
        latency.set({ worker: w.worker, quantile: "0.5" }, w.turnLatencyUs.p50 / 1e6);
        latency.set({ worker: w.worker, quantile: "0.99" }, w.turnLatencyUs.p99 / 1e6);
      }
      if (view.workerRestarts > lastRestarts) restarts.inc({}, view.workerRestarts - lastRestarts);
      lastRestarts = view.workerRestarts;
      pending.set({}, view.pendingSnapshots);
    },
  };
}
