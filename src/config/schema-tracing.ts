import { z } from "zod";

/**
 * `tracing`: OpenTelemetry traces of the reading path (docs/adr/0023-tracing.md). Off unless an
 * OTLP/HTTP endpoint is set; with it, a reading is traced when its device sent a sampled
 * `traceparent` (MQTT 5 user property) or, otherwise, at `sampleRatio`; anomalies always.
 */
export const tracingSchema = z.strictObject({
  endpoint: z
    .string()
    .refine((s) => s === "" || /^https?:\/\/[^\s]+$/.test(s), { message: "must be empty (off) or an http(s) URL of an OTLP/HTTP traces endpoint, e.g. http://otel-collector:4318/v1/traces" })
    .default(""),
  sampleRatio: z.number().min(0).max(1).default(0.01),
  anomalies: z.boolean().default(true),
  maxQueue: z.int().min(1).max(1_000_000).default(20_000),
});
