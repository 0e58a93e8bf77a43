import type { AlertRule, AlertTransition, ScoreRule, ThresholdRule, NoDataRule, OfflineRule } from "../../src/domain/alerts.js";
import { decodeAlerts, encodeAlerts } from "./codec.js";
import type { AlertEngine } from "./engine.js";
import type { DeviceAlerts } from "./state.js";

/**
 * Test and benchmark support: rule builders with neutral defaults, and one device driven through
 * an engine the way the device actor drives it (simulated time: the caller passes every time).
 */

const BASE = { severity: "warning", forMs: 0, clearForMs: 0, escalateAfterMs: 0, flap: { windowMs: 0, maxChanges: 4 } } as const;

/** Rule builders: no minimum durations, no escalation, no flap suppression unless given. */
export const rule = {
  score: (over: Partial<ScoreRule> = {}): ScoreRule => ({ ...BASE, id: "anomaly", kind: "score", raiseAt: 0.9, clearAt: 0.5, ...over }),
  threshold: (over: Partial<ThresholdRule> = {}): ThresholdRule => ({ ...BASE, id: "hot", kind: "threshold", metric: "temp", op: "above", raiseAt: 40, clearAt: 39, ...over }),
  offline: (over: Partial<OfflineRule> = {}): OfflineRule => ({ ...BASE, id: "offline", kind: "offline", ...over }),
  noData: (over: Partial<NoDataRule> = {}): NoDataRule => ({ ...BASE, id: "no-hum", kind: "no-data", metric: "hum", afterMs: 300_000, ...over }),
};

/** The default rules of config/default.yaml (src/config/schema-alerts.ts), as the engine gets them. */
export const DEFAULT_RULES: readonly AlertRule[] = [
  rule.score({ id: "anomaly", clearForMs: 60_000, escalateAfterMs: 900_000, flap: { windowMs: 600_000, maxChanges: 4 } }),
  rule.offline({ id: "offline", flap: { windowMs: 600_000, maxChanges: 4 } }),
];

/** One device's alert state driven through `engine`; every transition lands in `out`. */
export class Device {
  st: DeviceAlerts | undefined = undefined;
  readonly out: AlertTransition[] = [];

  constructor(
    readonly engine: AlertEngine,
    readonly id = "dev-1",
  ) {}

  /** A reading with these metric values and scores (0 when not given); returns its transitions. */
  reading(tsMs: number, values: Readonly<Record<string, number>>, scores: Readonly<Record<string, number>> = {}): AlertTransition[] {
    const names = Object.keys(values);
    const sc = names.map((n) => scores[n] ?? 0);
    let best = 0;
    for (const s of sc) if (s > best) best = s;
    const from = this.out.length;
    this.st = this.engine.onReading(this.st, this.id, tsMs, names, names.map((n) => values[n]!), sc, best, this.out);
    return this.out.slice(from);
  }

  /** A reading of one metric (value 1) scored `score`. */
  score(tsMs: number, score: number, metric = "temp"): AlertTransition[] {
    return this.reading(tsMs, { [metric]: 1 }, { [metric]: score });
  }

  offline(atMs: number): AlertTransition[] {
    const from = this.out.length;
    this.st = this.engine.onOffline(this.st, this.id, atMs, this.out);
    return this.out.slice(from);
  }

  /** An operator command; returns its error and transitions. */
  command(op: "acknowledge" | "resolve", alertId: string, atMs: number, by = "ana", reason = "", deviceId = this.id): { error: string; ts: AlertTransition[] } {
    const from = this.out.length;
    const res = this.engine.onCommand(this.st, { type: "alert-command", op, alertId, deviceId, by, reason, commandId: `c-${atMs}`, atMs }, this.out);
    this.st = res.st;
    return { error: res.error, ts: this.out.slice(from) };
  }

  /** Snapshot and restore the state (as a crash and recovery would). */
  restore(): void {
    if (this.st !== undefined) this.st = decodeAlerts(encodeAlerts(this.st));
  }

  /** `kind@version` of every transition so far. */
  kinds(): string[] {
    return this.out.map((t) => `${t.kind}@${t.version}`);
  }
}
