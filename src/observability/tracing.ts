import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Attributes, type Context, type Link, type Span, type SpanContext } from "@opentelemetry/api";
import { BatchSpanProcessor, TracerProvider, type ReadableSpan, type SpanExporter, type SpanProcessor } from "@opentelemetry/sdk-trace";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import type { HrTime } from "@opentelemetry/api";
import { parseTraceparent } from "../base/trace-context.js";
import type { SpanKindName, SpanOptions, SpanRecord, TraceSpan, Tracing } from "../ports/tracing.js";
import { noTracing } from "../ports/tracing.js";
import { headSampler, ALWAYS_ATTRIBUTE } from "./trace-sampler.js";

/** What a process's tracing needs (config key `tracing`). */
export interface TracingSettings {
  /** OTLP/HTTP traces endpoint, e.g. http://otel-collector:4318/v1/traces. Empty: tracing off. */
  readonly endpoint: string;
  /** Head sampling of traces that start here (readings without a sampled parent): 0 to 1. */
  readonly sampleRatio: number;
  /** Keep a trace of every anomaly whatever the ratio. */
  readonly anomalies: boolean;
  /** Most spans waiting for export; beyond, new spans are dropped (and counted by the SDK). */
  readonly maxQueue: number;
}

const KINDS: Record<SpanKindName, SpanKind> = { internal: SpanKind.INTERNAL, server: SpanKind.SERVER, client: SpanKind.CLIENT, producer: SpanKind.PRODUCER, consumer: SpanKind.CONSUMER };
const SCOPE = { name: "shoal" };

/**
 * The Tracing port on the OpenTelemetry SDK: a tracer provider with the head sampler
 * (trace-sampler.ts), a batch processor and the OTLP/HTTP exporter (JSON). `service` names the
 * role (`shoal-bridge`, `shoal-runtime`, ...). Settings with no endpoint give `noTracing`.
 * `exporter` replaces the OTLP exporter (tests, benchmarks).
 */
export function createTracing(s: TracingSettings, service: string, exporter?: SpanExporter): Tracing {
  if (s.endpoint === "" && exporter === undefined) return noTracing;
  const resource = resourceFromAttributes({ "service.name": service });
  const processor = new BatchSpanProcessor({ exporter: exporter ?? new OTLPTraceExporter({ url: s.endpoint }), maxQueueSize: s.maxQueue, scheduledDelayMillis: 1000 });
  const provider = new TracerProvider({ resource, sampler: headSampler(s.sampleRatio), spanProcessors: [processor] });
  const tracer = provider.getTracer(SCOPE.name);
  return {
    enabled: true,
    start(name, o: SpanOptions = {}) {
      const parent = o.always ? undefined : contextOf(o.parent);
      const attributes: Attributes = { ...o.attributes };
      if (o.always) {
        attributes[ALWAYS_ATTRIBUTE] = true;
        // An anomaly's own trace, linked to the reading's sampled trace when it has one.
      }
      const links: Link[] = [];
      for (const l of o.links ?? []) {
        const c = spanContextOf(l);
        if (c !== undefined) links.push({ context: c });
      }
      if (o.always && o.parent !== undefined) {
        const c = spanContextOf(o.parent);
        if (c !== undefined) links.push({ context: c });
      }
      const span = tracer.startSpan(name, { kind: KINDS[o.kind ?? "internal"], attributes, links, ...(o.startMs !== undefined ? { startTime: o.startMs } : {}) }, parent ?? ROOT_CONTEXT);
      if (!span.isRecording()) return undefined;
      return wrap(span);
    },
    record(spans) {
      for (const r of spans) {
        const s = readable(r, resource);
        if (s !== undefined) processor.onEnd(s);
      }
    },
    flush: () => provider.forceFlush(),
    close: () => provider.shutdown(),
  };
}

function wrap(span: Span): TraceSpan {
  const c = span.spanContext();
  let ended = false;
  return {
    traceparent: `00-${c.traceId}-${c.spanId}-01`,
    setAttribute: (k, v) => void span.setAttribute(k, v),
    fail: (message) => void span.setStatus({ code: SpanStatusCode.ERROR, message }),
    end(endMs) {
      if (ended) return;
      ended = true;
      span.end(endMs);
    },
  };
}

function spanContextOf(traceparent: string | undefined): SpanContext | undefined {
  const p = parseTraceparent(traceparent);
  return p === undefined ? undefined : { traceId: p.traceId, spanId: p.spanId, traceFlags: p.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE, isRemote: true };
}

function contextOf(traceparent: string | undefined): Context | undefined {
  const c = spanContextOf(traceparent);
  return c === undefined ? undefined : trace.setSpanContext(ROOT_CONTEXT, c);
}

function hr(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
}

/** A finished span of another thread as the SDK's processors take it. */
function readable(r: SpanRecord, resource: Resource): ReadableSpan | undefined {
  const own = spanContextOf(r.traceparent);
  if (own === undefined) return undefined;
  const context: SpanContext = { ...own, isRemote: false };
  const endMs = Math.max(r.endMs, r.startMs);
  return {
    name: r.name,
    kind: SpanKind.INTERNAL,
    spanContext: () => context,
    ...(r.parentSpanId !== undefined ? { parentSpanContext: { traceId: own.traceId, spanId: r.parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: false } } : {}),
    startTime: hr(r.startMs),
    endTime: hr(endMs),
    duration: hr(endMs - r.startMs),
    status: { code: SpanStatusCode.UNSET },
    attributes: { ...r.attributes },
    links: [],
    events: [],
    ended: true,
    resource,
    instrumentationScope: SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

export type { SpanExporter, SpanProcessor };
