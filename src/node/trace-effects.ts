import type { BatchEffects } from "../ports/actor-host.js";
import type { Tracing } from "../ports/tracing.js";

/** Name of the span of a traced batch's rows on their way into the store. */
export const INSERT_SPAN = "shoal.sink.insert";

/**
 * Export the spans of a batch's traced turns (measured in the actor host's threads) and, when the
 * batch has rows, trace their insert: a child of the first traced turn, linked to the others,
 * ended when `stored` settles (rows are inserted together with other batches' rows: the span is
 * the wait for that shared insert). Nothing happens for a batch no turn of which was traced.
 * docs/adr/0023-tracing.md.
 */
export function traceEffects(tracing: Tracing, fx: BatchEffects, stored: Promise<unknown> | undefined): void {
  const spans = fx.spans;
  if (spans === undefined || spans.length === 0 || !tracing.enabled) return;
  tracing.record(spans);
  if (stored === undefined || fx.rows.size === 0) return;
  let rows = 0;
  for (const b of fx.rows.values()) rows += b.length;
  const span = tracing.start(INSERT_SPAN, {
    parent: spans[0]!.traceparent,
    kind: "client",
    links: spans.slice(1, 32).map((s) => s.traceparent),
    attributes: { "db.system": "clickhouse", "db.operation": "INSERT", "shoal.tables": [...fx.rows.keys()].join(","), "shoal.rows": rows },
  });
  if (span === undefined) return;
  stored.then(
    () => span.end(),
    (e: unknown) => {
      span.fail(e instanceof Error ? e.message : String(e));
      span.end();
    },
  );
}
