import { z } from "zod";
import type { AlertRule } from "../domain/alerts.js";
import { SEVERITIES } from "../domain/alerts.js";
import { durationIn, url } from "./schema-values.js";

/**
 * Configuration sections of what tells operators what matters (docs/adr/0016-alerts.md,
 * docs/adr/0017-reports.md): alert rules, storm control and webhooks; scheduled reports.
 */

const ruleId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { message: "must be 1-64 letters, digits, _ and -" });
const metricName = z.string().min(1).max(128);
const DAY = 86_400_000;

const flapSchema = z
  .strictObject({
    /** Raises and clears of one rule on one device counted within this window. */
    window: durationIn("10m", 1_000, DAY, "must be between 1s and 1d"),
    /** This many changes within the window make the alert flapping (held open, not notified one by one). */
    maxChanges: z.int().min(2).max(1000).default(4),
  })
  .transform(({ window, maxChanges }) => ({ windowMs: window, maxChanges }));

/** What every rule has (durations in readings' time). */
const common = {
  id: ruleId,
  severity: z.enum(SEVERITIES).default("warning"),
  /** The condition holds this long before the alert is raised (0: at once). */
  for: durationIn("0s", 0, DAY, "must be between 0 and 1d"),
  /** The condition stays clear this long before the alert clears (0: at once). */
  clearFor: durationIn("0s", 0, DAY, "must be between 0 and 1d"),
  /** An open alert nobody acknowledged goes one severity up after this long (0: never). */
  escalateAfter: durationIn("0s", 0, 30 * DAY, "must be between 0 (never) and 30d"),
  flap: flapSchema.prefault({}),
};

const ruleSchema = z
  .discriminatedUnion("kind", [
    z.strictObject({ ...common, kind: z.literal("score"), metric: metricName.optional(), raiseAt: z.number().min(0).max(1), clearAt: z.number().min(0).max(1) }),
    z.strictObject({ ...common, kind: z.literal("threshold"), metric: metricName, op: z.enum(["above", "below"]), raiseAt: z.number(), clearAt: z.number() }),
    z.strictObject({ ...common, kind: z.literal("offline") }),
    z.strictObject({ ...common, kind: z.literal("no-data"), metric: metricName, after: durationIn("5m", 1_000, 30 * DAY, "must be between 1s and 30d") }),
  ])
  .superRefine((r, ctx) => {
    if (r.kind === "score" && r.clearAt > r.raiseAt) ctx.addIssue({ code: "custom", path: ["clearAt"], message: "must be <= raiseAt (hysteresis)" });
    if (r.kind === "threshold" && r.op === "above" && r.clearAt > r.raiseAt) ctx.addIssue({ code: "custom", path: ["clearAt"], message: "must be <= raiseAt for op above" });
    if (r.kind === "threshold" && r.op === "below" && r.clearAt < r.raiseAt) ctx.addIssue({ code: "custom", path: ["clearAt"], message: "must be >= raiseAt for op below" });
  })
  .transform((r): AlertRule => {
    const base = { id: r.id, severity: r.severity, forMs: r.for, clearForMs: r.clearFor, escalateAfterMs: r.escalateAfter, flap: r.flap };
    switch (r.kind) {
      case "score":
        return { ...base, kind: "score", raiseAt: r.raiseAt, clearAt: r.clearAt, ...(r.metric !== undefined ? { metric: r.metric } : {}) };
      case "threshold":
        return { ...base, kind: "threshold", metric: r.metric, op: r.op, raiseAt: r.raiseAt, clearAt: r.clearAt };
      case "offline":
        return { ...base, kind: "offline" };
      case "no-data":
        return { ...base, kind: "no-data", metric: r.metric, afterMs: r.after };
    }
  });

const DEFAULT_RULES = [
  { id: "anomaly", kind: "score", raiseAt: 0.9, clearAt: 0.5, clearFor: "1m", severity: "warning", escalateAfter: "15m" },
  { id: "offline", kind: "offline", severity: "warning" },
] as const;

const webhookSchema = z
  .strictObject({
    name: ruleId,
    url: url(["http", "https"]),
    /** Secret: the HMAC-SHA256 key of the Shoal-Signature header. */
    secret: z.string().min(16, { message: "must be at least 16 characters" }).optional(),
    ratePerMinute: z.int().min(1).max(100_000).default(60),
    maxAttempts: z.int().min(1).max(100).default(6),
    timeout: durationIn("5s", 100, 120_000, "must be between 100ms and 2m"),
    retryBase: durationIn("500ms", 10, 60_000, "must be between 10ms and 1m"),
  })
  .transform(({ timeout, retryBase, ...rest }) => ({ ...rest, timeoutMs: timeout, retryBaseMs: retryBase }));

/** Alert rules (evaluated by the device actors), storm control and notification targets. */
export const alertsSchema = z
  .strictObject({
    /** false: no rule is evaluated and no notifier runs. */
    enabled: z.boolean().default(true),
    rules: z
      .array(ruleSchema)
      .prefault(DEFAULT_RULES as unknown as z.input<typeof ruleSchema>[])
      .superRefine((rules, ctx) => {
        const seen = new Set<string>();
        for (const [i, r] of rules.entries()) {
          if (seen.has(r.id)) ctx.addIssue({ code: "custom", path: [i, "id"], message: `duplicate rule id ${JSON.stringify(r.id)}` });
          seen.add(r.id);
        }
      }),
    storm: z
      .strictObject({
        /** More alerts raised in a minute than this are grouped into one storm incident. */
        maxPerMinute: z.int().min(1).max(100_000).default(5),
      })
      .prefault({}),
    webhooks: z.array(webhookSchema).default([]),
    /** How long AcknowledgeAlert/ResolveAlert wait for the actor to apply the command before answering "accepted". */
    commandWait: durationIn("5s", 0, 60_000, "must be between 0 and 1m"),
  })
  .transform(({ commandWait, ...rest }) => ({ ...rest, commandWaitMs: commandWait }));

const scheduleSchema = z
  .strictObject({
    name: ruleId,
    /** Length of a period; periods are aligned to the epoch (UTC). */
    every: durationIn("1h", 60_000, 31 * DAY, "must be between 1m and 31d"),
    /** Wait after a period ends before its report (late readings land). */
    delay: durationIn("2m", 0, DAY, "must be between 0 and 1d"),
    /** The whole fleet, or the devices whose id matches `match` (a glob, `*` any characters). */
    scope: z
      .discriminatedUnion("kind", [z.strictObject({ kind: z.literal("fleet") }), z.strictObject({ kind: z.literal("group"), group: ruleId, match: z.string().min(1).max(256) })])
      .default({ kind: "fleet" }),
    /** Most figure lines given to the model. */
    maxItems: z.int().min(1).max(500).default(40),
  })
  .transform(({ every, delay, ...rest }) => ({ ...rest, everyMs: every, delayMs: delay }));

/** Scheduled reports (`shoal reports`, also inside `shoal up`): one leader per cluster through a Consul session. */
export const reportsSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    leaderKey: z.string().min(1).default("shoal/reports/leader"),
    /** Consul session TTL of the leader: a killed leader is replaced within TTL..2xTTL. */
    sessionTtl: durationIn("10s", 10_000, DAY, "must be between 10s and 1d"),
    /** Most missed periods per schedule generated after downtime. */
    catchUpMax: z.int().min(0).max(10_000).default(48),
    schedules: z
      .array(scheduleSchema)
      .prefault([{ name: "fleet-hourly", every: "1h", delay: "2m", scope: { kind: "fleet" } }])
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        for (const [i, s] of list.entries()) {
          if (seen.has(s.name)) ctx.addIssue({ code: "custom", path: [i, "name"], message: `duplicate schedule ${JSON.stringify(s.name)}` });
          seen.add(s.name);
        }
      }),
  })
  .transform(({ sessionTtl, ...rest }) => ({ ...rest, sessionTtlMs: sessionTtl }));
