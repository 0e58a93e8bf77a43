import { noTracing, type Tracing } from "../ports/tracing.js";
import type { TracingSettings } from "./tracing.js";

/**
 * The Tracing of a role from its settings. The OpenTelemetry SDK and its OTLP exporter are loaded
 * only when an endpoint is set: with tracing off (the default) a role's start does not pay for
 * importing them (~0.3 s of a runtime's start through tsx on a busy 2-core machine).
 */
export async function startTracing(s: TracingSettings, service: string): Promise<Tracing> {
  if (s.endpoint === "") return noTracing;
  const { createTracing } = await import("./tracing.js");
  return createTracing(s, service);
}
