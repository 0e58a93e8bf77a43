import type { ClickHouseClient } from "@clickhouse/client";
import { Readable } from "node:stream";
import type { BinaryRows, Row, RowSchema } from "../../ports/row-sink.js";
import type { RowLogEntry } from "../../ports/row-log.js";
import { readRows } from "../../domain/row-binary-read.js";
import { identifier } from "./errors.js";

/**
 * Insert rows already encoded (RowBinary with its column list, or JSONEachRow text) as they are:
 * the sink's inserts and the row log's repairs take this one path.
 */
export async function insertEncoded(client: ClickHouseClient, table: string, format: "RowBinary" | "JSONEachRow", columns: readonly string[], chunks: readonly Uint8Array[], headers?: Record<string, string>): Promise<void> {
  const cols = format === "RowBinary" ? ` (${columns.map(identifier).join(", ")})` : "";
  const res = await client.exec({ query: `INSERT INTO ${identifier(table)}${cols} FORMAT ${format}`, values: Readable.from(chunks), ...(headers ? { http_headers: headers } : {}) });
  // The server answers once the insert is done; read the (empty) body so the socket is reused.
  for await (const _ of res.stream);
}

/** One table's rows of one insert, as the sink holds them. */
export type InsertedRows = { readonly table: string; readonly schema: RowSchema; readonly units: readonly BinaryRows[] } | { readonly table: string; readonly objects: readonly Row[] };

const enc = new TextEncoder();

/**
 * Row log entries of one table's insert, none over `maxBytes`: RowBinary split between writes
 * (each write's rows are whole), a single write over the limit and object rows as JSONEachRow
 * split between rows.
 */
export function rowLogEntries(maxBytes: number, rows: InsertedRows): RowLogEntry[] {
  if ("objects" in rows) return jsonEntries(rows.table, rows.objects, maxBytes);
  const columns = rows.schema.columns.map((c) => c.name);
  const out: RowLogEntry[] = [];
  let chunks: Uint8Array[] = [];
  let n = 0;
  let bytes = 0;
  const cut = () => {
    if (n > 0) out.push({ table: rows.table, format: "RowBinary", columns, rows: n, chunks });
    chunks = [];
    n = 0;
    bytes = 0;
  };
  for (const u of rows.units) {
    const size = u.chunks.reduce((a, c) => a + c.length, 0);
    if (size > maxBytes) {
      cut();
      out.push(...jsonEntries(rows.table, readRows(u), maxBytes));
      continue;
    }
    if (bytes + size > maxBytes) cut();
    for (const c of u.chunks) chunks.push(c);
    n += u.rows;
    bytes += size;
  }
  cut();
  return out;
}

function jsonEntries(table: string, objects: readonly Row[], maxBytes: number): RowLogEntry[] {
  const out: RowLogEntry[] = [];
  let chunks: Uint8Array[] = [];
  let bytes = 0;
  for (const o of objects) {
    const line = enc.encode(`${JSON.stringify(o)}\n`);
    if (bytes + line.length > maxBytes && chunks.length > 0) {
      out.push({ table, format: "JSONEachRow", columns: [], rows: chunks.length, chunks });
      chunks = [];
      bytes = 0;
    }
    chunks.push(line);
    bytes += line.length;
  }
  if (chunks.length > 0) out.push({ table, format: "JSONEachRow", columns: [], rows: chunks.length, chunks });
  return out;
}
