import type { ClickHouseClient } from "@clickhouse/client";
import { readRows } from "../../domain/row-binary-read.js";
import type { RowLogEntry } from "../../ports/row-log.js";
import { identifier } from "./errors.js";
import { insertEncoded, rowLogEntries } from "./encoded-rows.js";
import type { TableRows } from "./sink-rows.js";
import type { AcceptedRows, DerivedFeed } from "./derived-feed.js";

/** What one batch's inserts did. */
export interface InsertedTables {
  /** Inserts sent (one per table). */
  readonly inserts: number;
  readonly rows: number;
  /** What a row log is to keep of them (none without `logEntryBytes`). */
  readonly logEntries: RowLogEntry[];
}

/**
 * One insert per table: the RowBinary bytes the hosts encoded, sent unchanged with the schema's
 * column list; or, when some of the table's rows came as objects (rows that did not fit the
 * schema, tables without one), all of them as JSONEachRow, so a table's rows land or fail together.
 * The feeds' copies are offered once every table's insert was accepted. `logEntryBytes`: the row
 * log's most bytes per entry, when there is a row log.
 */
export async function insertTables(
  client: ClickHouseClient,
  feed: DerivedFeed,
  rows: ReadonlyMap<string, TableRows>,
  traceparent: string | undefined,
  logEntryBytes: number | undefined,
): Promise<InsertedTables> {
  const headers = traceparent === undefined ? undefined : { traceparent };
  const inserts: Promise<unknown>[] = [];
  const logged: Array<Parameters<typeof rowLogEntries>[1]> = [];
  const fed: Array<[string, AcceptedRows]> = [];
  let n = 0;
  for (const [table, t] of rows) {
    const binary = [...t.binary.values()];
    if (binary.length === 1 && t.objects.length === 0) {
      const b = binary[0]!;
      n += b.rows;
      const columns = b.schema.columns.map((c) => identifier(c.name));
      inserts.push(insertEncoded(client, table, "RowBinary", columns, b.chunks, headers));
      logged.push({ table, schema: b.schema, units: b.units });
      if (feed.feeds(table)) fed.push([table, { format: "RowBinary", columns, chunks: b.chunks, rows: b.rows }]);
      continue;
    }
    const objects = binary.flatMap((b) => readRows(b)).concat(t.objects);
    n += objects.length;
    inserts.push(client.insert({ table: identifier(table), values: objects, format: "JSONEachRow", ...(headers ? { http_headers: headers } : {}) }));
    logged.push({ table, objects });
    if (feed.feeds(table)) fed.push([table, { format: "JSONEachRow", objects }]);
  }
  await Promise.all(inserts);
  for (const [table, accepted] of fed) feed.offer(table, accepted);
  return { inserts: inserts.length, rows: n, logEntries: logEntryBytes === undefined ? [] : logged.flatMap((l) => rowLogEntries(logEntryBytes, l)) };
}
