import type { WhereFilter } from "weaviate-ts-client";
import type { VectorFilter } from "../../ports/vector-store.js";

/**
 * A port filter as a Weaviate where filter (values travel as GraphQL or JSON literals the client
 * escapes, never spliced into query text by us). Undefined when it restricts nothing. An empty
 * `kinds` matches nothing: the caller answers without asking.
 */
export function whereFilter(f: VectorFilter | undefined): WhereFilter | undefined {
  if (f === undefined) return undefined;
  const ops: WhereFilter[] = [];
  if (f.deviceId !== undefined) ops.push({ path: ["deviceId"], operator: "Equal", valueText: f.deviceId });
  if (f.excludeDeviceId !== undefined) ops.push({ path: ["deviceId"], operator: "NotEqual", valueText: f.excludeDeviceId });
  if (f.kinds !== undefined && f.kinds.length > 0) ops.push({ path: ["kind"], operator: "ContainsAny", valueTextArray: [...f.kinds] });
  if (f.fromMs !== undefined) ops.push({ path: ["tsMs"], operator: "GreaterThanEqual", valueNumber: f.fromMs });
  if (f.toMs !== undefined) ops.push({ path: ["tsMs"], operator: "LessThan", valueNumber: f.toMs });
  if (ops.length === 0) return undefined;
  return ops.length === 1 ? ops[0] : { operator: "And", operands: ops };
}

/** Objects whose id is one of `ids`. */
export function idsFilter(ids: readonly string[]): WhereFilter {
  const ops: WhereFilter[] = ids.map((id) => ({ path: ["id"], operator: "Equal", valueText: id }));
  return ops.length === 1 ? ops[0]! : { operator: "Or", operands: ops };
}

/** Objects older than `beforeMs` (retention). */
export function olderThan(beforeMs: number): WhereFilter {
  return { path: ["tsMs"], operator: "LessThan", valueNumber: beforeMs };
}
