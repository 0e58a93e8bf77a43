/**
 * Tracing: spans of one reading's path (MQTT publish → bridge → journal → actor turn → model
 * gateway → ClickHouse insert), joined by W3C trace context (`traceparent` strings) that travel in
 * MQTT 5 user properties, journal records, gRPC metadata and effects between threads. Every user
 * takes the context explicitly (no ambient context): a step with no `traceparent` records nothing,
 * so tracing that is off costs one comparison per message. docs/adr/0023-tracing.md.
 */

/** A span's value, as OpenTelemetry takes it. */
export type SpanValue = string | number | boolean;

/** How a span relates to the work around it (OpenTelemetry's SpanKind). */
export type SpanKindName = "internal" | "server" | "client" | "producer" | "consumer";

/** A span being measured; `end` once (later calls are ignored). */
export interface TraceSpan {
  /** This span's context as a W3C `traceparent` (what children and the next hop carry). */
  readonly traceparent: string;
  setAttribute(key: string, value: SpanValue): void;
  /** Mark the span failed (status ERROR with the message). */
  fail(message: string): void;
  /** End the span (at `endMs`, ms since the epoch; now by default). */
  end(endMs?: number): void;
}

/** Options of a new span. */
export interface SpanOptions {
  /**
   * The parent's `traceparent`. Absent: a new trace, kept at the configured head-sampling ratio
   * (or always with `always`). Present: kept when the parent was sampled (its flags say so).
   */
  readonly parent?: string;
  readonly kind?: SpanKindName;
  readonly attributes?: Readonly<Record<string, SpanValue>>;
  /** Start time, ms since the epoch (default now). */
  readonly startMs?: number;
  /** Keep this trace whatever the sampler says (an anomaly). */
  readonly always?: boolean;
  /** Other spans this one belongs to as well (e.g. the rest of a batch's traced turns). */
  readonly links?: readonly string[];
}

/**
 * A span measured somewhere that has no tracer (an actor turn in a worker thread), finished, with
 * its ids already chosen there so that the effects of the turn could name it as their parent.
 */
export interface SpanRecord {
  readonly name: string;
  /** This span's context (`00-<trace id>-<span id>-01`). */
  readonly traceparent: string;
  /** The parent span's id (16 hex digits); absent for a trace's first span. */
  readonly parentSpanId?: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly attributes: Readonly<Record<string, SpanValue>>;
}

/** Starts spans and exports them (OTLP/HTTP), or does nothing when tracing is off. */
export interface Tracing {
  /** False when off: callers may skip building attributes. */
  readonly enabled: boolean;
  /** A new span, or undefined when it is not sampled (then nothing downstream records either). */
  start(name: string, opts?: SpanOptions): TraceSpan | undefined;
  /** Export spans finished elsewhere (see SpanRecord). */
  record(spans: readonly SpanRecord[]): void;
  /** Export what is buffered now. */
  flush(): Promise<void>;
  /** Export what is buffered and stop. */
  close(): Promise<void>;
}

/** Tracing that is off: nothing is sampled, nothing is exported. */
export const noTracing: Tracing = {
  enabled: false,
  start: () => undefined,
  record: () => {},
  flush: () => Promise.resolve(),
  close: () => Promise.resolve(),
};
