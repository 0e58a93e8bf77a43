import { formatTraceparent, newSpanId, newTraceId, parseTraceparent } from "../base/trace-context.js";
import type { SpanRecord } from "../ports/tracing.js";

/** Name of a traced turn's span. */
export const TURN_SPAN = "shoal.actor.turn";

/**
 * The span of one traced turn, with its ids chosen here (a worker thread has no tracer: the record
 * travels with the batch's effects and the main thread exports it). `parent`: the message's
 * `trace`; undefined (or invalid) with `kept`: the turn starts a trace of its own. Undefined when
 * there is nothing to record.
 */
export function turnSpan(parent: string | undefined, kept: boolean, actorType: string, actorId: string, partition: number, msgType: string, startMs: number, endMs: number): SpanRecord | undefined {
  const p = parseTraceparent(parent);
  if (p === undefined && !kept) return undefined;
  const traceparent = formatTraceparent(p?.traceId ?? newTraceId(), newSpanId());
  const attributes: Record<string, string | number | boolean> = { "shoal.actor.type": actorType, "shoal.actor.id": actorId, "shoal.partition": partition, "shoal.message.type": msgType };
  if (kept) attributes["shoal.trace.kept"] = true;
  return { name: TURN_SPAN, traceparent, ...(p !== undefined ? { parentSpanId: p.spanId } : {}), startMs, endMs, attributes };
}
