import type { BinaryRows, Row, RowBatch } from "../ports/row-sink.js";
import { schemaKey } from "./row-binary.js";
import { readRows } from "./row-binary-read.js";

/** Rows kept as objects. */
export function rowBatchOf(objects: readonly Row[]): RowBatch {
  return { length: objects.length, binary: null, objects };
}

/** Encoded rows plus the ones left as objects. */
export function rowBatch(binary: BinaryRows | null, objects: readonly Row[]): RowBatch {
  return { length: (binary?.rows ?? 0) + objects.length, binary, objects };
}

/** `a`'s rows then `b`'s (binary rows of another schema than `a`'s are decoded to objects). */
export function concatRows(a: RowBatch, b: RowBatch): RowBatch {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  let binary = a.binary ?? b.binary;
  let extra: readonly Row[] = [];
  if (a.binary !== null && b.binary !== null) {
    if (a.binary.schema === b.binary.schema || schemaKey(a.binary.schema) === schemaKey(b.binary.schema)) {
      binary = { schema: a.binary.schema, rows: a.binary.rows + b.binary.rows, chunks: [...a.binary.chunks, ...b.binary.chunks] };
    } else {
      binary = a.binary;
      extra = readRows(b.binary);
    }
  }
  const objects = extra.length > 0 ? [...a.objects, ...extra, ...b.objects] : a.objects.length === 0 ? b.objects : b.objects.length === 0 ? a.objects : [...a.objects, ...b.objects];
  return { length: a.length + b.length, binary, objects };
}

/** Every row of `b` as an object (decodes `binary`: for tests and dead letters, not the hot path). */
export function rowObjects(b: RowBatch | undefined): Row[] {
  if (b === undefined) return [];
  const out = b.binary === null ? [] : readRows(b.binary);
  for (const r of b.objects) out.push(r);
  return out;
}
