import type { GatewayOp } from "../ports/gateway.js";
import type { Tracing } from "../ports/tracing.js";

/** Runs one gateway operation; `trace` is the context its upstream calls continue. */
export type TracedOperation = <R>(op: GatewayOp, parent: string | undefined, run: (trace: string | undefined) => Promise<R>) => Promise<R>;

/**
 * A span `shoal.gateway.<op>` around each operation of a traced request (a caller's
 * `traceparent`), with where its answer came from (provider, model, cached, degraded, cost);
 * untraced requests run as they are (docs/adr/0023-tracing.md).
 */
export function operationSpans(tracing: Tracing | undefined): TracedOperation {
  return (op, parent, run) => {
    if (parent === undefined || tracing === undefined || !tracing.enabled) return run(undefined);
    const span = tracing.start(`shoal.gateway.${op}`, { parent, kind: "internal", attributes: { "shoal.gateway.op": op } });
    if (span === undefined) return run(undefined);
    return run(span.traceparent).then(
      (r) => {
        const m = (r as { model?: Record<string, unknown> }).model;
        if (typeof m === "object" && m !== null) {
          for (const k of ["provider", "model", "cached", "degraded", "costUsd", "degradedReason"] as const) {
            const v = m[k];
            if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") span.setAttribute(`shoal.gateway.${k}`, v);
          }
        }
        span.end();
        return r;
      },
      (e: unknown) => {
        span.fail(e instanceof Error ? e.message : String(e));
        span.end();
        throw e;
      },
    );
  };
}
