import { SamplingDecision, TraceIdRatioBasedSampler, type Sampler, type SamplingResult } from "@opentelemetry/sdk-trace";
import { TraceFlags, isSpanContextValid, trace, type Attributes, type Context } from "@opentelemetry/api";

/** Attribute of a span kept whatever the ratio (an anomaly's trace). */
export const ALWAYS_ATTRIBUTE = "shoal.trace.always";

/**
 * Head sampling: a span with the `shoal.trace.always` attribute is kept; a span with a parent
 * follows the parent's sampled flag (a device or caller that sampled its trace gets it whole, one
 * that did not gets nothing); a trace that starts here is kept with probability `ratio` (decided
 * from the trace id, so every process decides alike).
 */
export function headSampler(ratio: number): Sampler {
  const root = new TraceIdRatioBasedSampler(ratio);
  return {
    shouldSample(ctx: Context, traceId: string, _name: string, _kind: unknown, attributes: Attributes): SamplingResult {
      if (attributes[ALWAYS_ATTRIBUTE] === true) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
      const parent = trace.getSpanContext(ctx);
      if (parent !== undefined && isSpanContextValid(parent)) {
        return { decision: (parent.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD };
      }
      return root.shouldSample(ctx, traceId);
    },
    toString: () => `ShoalHeadSampler{ratio=${ratio}}`,
  };
}
