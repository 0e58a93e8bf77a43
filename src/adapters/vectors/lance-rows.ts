import { createRequire } from "node:module";
import type * as ArrowTypes from "apache-arrow";
import type { VectorFilter, VectorHit, VectorKind, VectorObject } from "../../ports/vector-store.js";

/**
 * The embedded store's table layout and its SQL: one LanceDB table per collection, one row per
 * object (snake_case columns: DataFusion folds unquoted identifiers to lower case), numbers as
 * Float64 (exact integers up to 2^53, no BigInt in results), the vector as FixedSizeList<Float32>.
 */

// The CommonJS build of apache-arrow: the one @lancedb/lancedb (CommonJS) loads, so tables built
// here are instances of the classes it checks for (Node would give ESM importers a second copy).
const arrow = createRequire(import.meta.url)("apache-arrow") as typeof ArrowTypes;

/** Columns other than the vector, as returned by searches. */
export const META_COLUMNS = ["id", "kind", "device_id", "ts_ms", "metric", "epoch", "seq", "score", "text"] as const;

export function tableSchema(dims: number): ArrowTypes.Schema {
  const { Field, FixedSizeList, Float32, Float64, Schema, Utf8 } = arrow;
  return new Schema([
    new Field("id", new Utf8(), false),
    new Field("vector", new FixedSizeList(dims, new Field("item", new Float32(), true)), false),
    new Field("kind", new Utf8(), false),
    new Field("device_id", new Utf8(), false),
    new Field("ts_ms", new Float64(), false),
    new Field("metric", new Utf8(), false),
    new Field("epoch", new Float64(), false),
    new Field("seq", new Float64(), false),
    new Field("score", new Float64(), false),
    new Field("text", new Utf8(), false),
  ]);
}

/** The vector length of a table's schema (its `vector` column), or undefined when it has none. */
export function schemaDims(schema: ArrowTypes.Schema): number | undefined {
  const f = schema.fields.find((x) => x.name === "vector");
  return f && arrow.DataType.isFixedSizeList(f.type) ? f.type.listSize : undefined;
}

/** Objects (already checked) as one Arrow table, built column by column without per-row boxing. */
export function toArrowTable(objects: readonly VectorObject[], dims: number): ArrowTypes.Table {
  const { makeData, vectorFromArray, RecordBatch, Struct, Table, Float32, Float64, Utf8 } = arrow;
  const schema = tableSchema(dims);
  const n = objects.length;
  const flat = new Float32Array(n * dims);
  const nums = { ts: new Float64Array(n), epoch: new Float64Array(n), seq: new Float64Array(n), score: new Float64Array(n) };
  objects.forEach((o, i) => {
    for (let d = 0; d < dims; d++) flat[i * dims + d] = o.vector[d]!;
    nums.ts[i] = o.tsMs;
    nums.epoch[i] = o.epoch;
    nums.seq[i] = o.seq;
    nums.score[i] = o.score;
  });
  const text = (pick: (o: VectorObject) => string) => vectorFromArray(objects.map(pick), new Utf8()).data[0]!;
  const f64 = (data: Float64Array) => makeData({ type: new Float64(), length: n, nullCount: 0, data });
  const vectorType = schema.fields[1]!.type as ArrowTypes.FixedSizeList<ArrowTypes.Float32>;
  const children = [
    text((o) => o.id),
    makeData({ type: vectorType, length: n, nullCount: 0, child: makeData({ type: new Float32(), length: n * dims, nullCount: 0, data: flat }) }),
    text((o) => o.kind),
    text((o) => o.deviceId),
    f64(nums.ts),
    text((o) => o.metric),
    f64(nums.epoch),
    f64(nums.seq),
    f64(nums.score),
    text((o) => o.text),
  ];
  const data = makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children });
  return new Table([new RecordBatch(schema, data)]);
}

/** A row as LanceDB's `toArray()` returns it (column name → value). */
export type Row = Record<string, unknown>;

function meta(r: Row): Omit<VectorObject, "vector"> {
  return {
    id: String(r.id),
    kind: String(r.kind) as VectorKind,
    deviceId: String(r.device_id),
    tsMs: Number(r.ts_ms),
    metric: String(r.metric),
    epoch: Number(r.epoch),
    seq: Number(r.seq),
    score: Number(r.score),
    text: String(r.text),
  };
}

export function rowToHit(r: Row): VectorHit {
  // LanceDB's cosine distance is 1 - cos, computed in float32: clamp the rounding below 0.
  return { ...meta(r), distance: Math.max(0, Number(r._distance)) };
}

export function rowToObject(r: Row): VectorObject {
  const v = r.vector as { toArray?: () => Float32Array } | ArrayLike<number>;
  const vector = "toArray" in v && typeof v.toArray === "function" ? Float32Array.from(v.toArray()) : Float32Array.from(v as ArrayLike<number>);
  return { ...meta(r), vector };
}

/** A SQL string literal: single quotes doubled (Lance's SQL takes backslashes literally). */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** A number literal for SQL (finite by validation; exponent form parses too). */
export function sqlNumber(n: number): string {
  if (!Number.isFinite(n)) throw new TypeError(`not a finite number: ${n}`);
  return String(n);
}

/** `id IN (...)` for a list of ids (UUIDs by validation, escaped all the same). */
export function idsIn(ids: readonly string[]): string {
  return `id IN (${ids.map(sqlString).join(", ")})`;
}

/** The WHERE clause of a filter, or undefined when it restricts nothing. Values come from devices: always escaped. */
export function whereClause(f: VectorFilter | undefined): string | undefined {
  if (f === undefined) return undefined;
  const parts: string[] = [];
  if (f.deviceId !== undefined) parts.push(`device_id = ${sqlString(f.deviceId)}`);
  if (f.excludeDeviceId !== undefined) parts.push(`device_id != ${sqlString(f.excludeDeviceId)}`);
  if (f.kinds !== undefined) parts.push(f.kinds.length === 0 ? "false" : `kind IN (${f.kinds.map(sqlString).join(", ")})`);
  if (f.fromMs !== undefined) parts.push(`ts_ms >= ${sqlNumber(f.fromMs)}`);
  if (f.toMs !== undefined) parts.push(`ts_ms < ${sqlNumber(f.toMs)}`);
  return parts.length === 0 ? undefined : parts.join(" AND ");
}
