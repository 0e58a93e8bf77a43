import type { BatchEffects } from "../ports/actor-host.js";
import type { RowsByTable, WriteOptions } from "../ports/row-sink.js";
import type { Tracing } from "../ports/tracing.js";

/** Name of the span of a traced batch's rows on their way into the store. */
export const INSERT_SPAN = "shoal.sink.insert";

/**
 * Write a batch's rows, tracing it when some of its turns were traced (docs/adr/0023-tracing.md):
 * the turns' spans (measured in the actor host's threads) are exported, and the write gets a span
 * `shoal.sink.insert` — a child of the first traced turn, linked to the others — whose context the
 * insert carries to the store, ended when the rows are durable (they share an insert with other
 * batches' rows: the span is the wait for that insert). Untraced batches are written as they are.
 */
export function writeTraced(tracing: Tracing | undefined, fx: BatchEffects, write: (rows: RowsByTable, opts: WriteOptions) => Promise<void>, opts: WriteOptions = {}): Promise<void> | undefined {
  const spans = fx.spans;
  const traced = tracing !== undefined && tracing.enabled && spans !== undefined && spans.length > 0;
  if (traced) tracing.record(spans);
  if (fx.rows.size === 0) return undefined;
  if (!traced) return write(fx.rows, opts);
  let rows = 0;
  for (const b of fx.rows.values()) rows += b.length;
  const span = tracing.start(INSERT_SPAN, {
    parent: spans[0]!.traceparent,
    kind: "client",
    links: spans.slice(1, 32).map((s) => s.traceparent),
    attributes: { "db.system": "clickhouse", "db.operation": "INSERT", "shoal.tables": [...fx.rows.keys()].join(","), "shoal.rows": rows },
  });
  if (span === undefined) return write(fx.rows, opts);
  const stored = write(fx.rows, { ...opts, traceparent: span.traceparent });
  stored.then(
    () => span.end(),
    (e: unknown) => {
      span.fail(e instanceof Error ? e.message : String(e));
      span.end();
    },
  );
  return stored;
}
