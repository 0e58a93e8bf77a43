import { schemaKey } from "../../domain/row-binary.js";
import type { BinaryRows, Row, RowSchema, RowsByTable } from "../../ports/row-sink.js";

/** A table's rows of one or more writes: RowBinary rows by schema, and objects (in write order). */
export interface TableRows {
  /** Per schema: all rows, their chunks in order, and each write's part (the row log splits there). */
  readonly binary: Map<string, { schema: RowSchema; rows: number; chunks: Uint8Array[]; units: BinaryRows[] }>;
  readonly objects: Row[];
}

/** Rows of one or more writes grouped by table. */
export function mergeRows(parts: readonly RowsByTable[]): Map<string, TableRows> {
  const out = new Map<string, TableRows>();
  for (const part of parts) {
    for (const [table, rows] of part) {
      if (rows.length === 0) continue;
      let acc = out.get(table);
      if (acc === undefined) out.set(table, (acc = { binary: new Map(), objects: [] }));
      if (rows.binary !== null) {
        const key = schemaKey(rows.binary.schema);
        let b = acc.binary.get(key);
        if (b === undefined) acc.binary.set(key, (b = { schema: rows.binary.schema, rows: 0, chunks: [], units: [] }));
        b.rows += rows.binary.rows;
        for (const c of rows.binary.chunks) b.chunks.push(c);
        b.units.push(rows.binary);
      }
      for (const r of rows.objects) acc.objects.push(r);
    }
  }
  return out;
}
