import type { MsgHdrs } from "@nats-io/transport-node";
import type { Row, RowSchema } from "../../ports/row-sink.js";
import type { RowInterest } from "../../ports/row-feed.js";
import { readRows, type RowSelection } from "../../domain/row-binary-read.js";
import {
  ALERT_TRANSITIONS_SCHEMA,
  ALERT_TRANSITIONS_TABLE,
  ALERTS_SCHEMA,
  ALERTS_TABLE,
  ANALYSES_SCHEMA,
  ANALYSES_TABLE,
  ANOMALY_WINDOWS_SCHEMA,
  ANOMALY_WINDOWS_TABLE,
  DEVICE_EVENTS_SCHEMA,
  DEVICE_EVENTS_TABLE,
  READINGS_SCHEMA,
  READINGS_TABLE,
  REPORTS_SCHEMA,
  REPORTS_TABLE,
} from "../../domain/tables.js";

/** The tables whose logged rows are read back as objects, with their column types. */
const SCHEMAS: ReadonlyMap<string, RowSchema> = new Map([
  [READINGS_TABLE, READINGS_SCHEMA],
  [ANALYSES_TABLE, ANALYSES_SCHEMA],
  [DEVICE_EVENTS_TABLE, DEVICE_EVENTS_SCHEMA],
  [ANOMALY_WINDOWS_TABLE, ANOMALY_WINDOWS_SCHEMA],
  [ALERT_TRANSITIONS_TABLE, ALERT_TRANSITIONS_SCHEMA],
  [ALERTS_TABLE, ALERTS_SCHEMA],
  [REPORTS_TABLE, REPORTS_SCHEMA],
]);

const dec = new TextDecoder();

/**
 * The rows of one row log message (src/adapters/nats/row-log.ts writes them: table, format,
 * columns and row count in headers, the encoded rows as the body). Undefined for tables not read
 * back (or not in `only.tables`); throws when the message does not decode. With `only`, rows whose
 * device fails `only.devices` are left out, and in RowBinary never decoded; with `select` (instead
 * of `only`'s devices), the rows whose column fails it.
 */
export function decodeRowLogMessage(h: MsgHdrs | undefined, data: Uint8Array, only?: RowInterest, select?: RowSelection): { table: string; rows: Row[] } | undefined {
  const table = h?.get("Shoal-Table") ?? "";
  const known = SCHEMAS.get(table);
  if (known === undefined || (only !== undefined && !only.tables.has(table))) return undefined;
  if (h?.get("Shoal-Format") === "JSONEachRow") {
    const rows = dec.decode(data).split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Row);
    const by = selection(only, select);
    return { table, rows: by === undefined ? rows : rows.filter((r) => typeof r[by.column] !== "string" || by.keep(r[by.column] as string)) };
  }
  const columns = (h?.get("Shoal-Columns") ?? "").split(",");
  const schema = schemaOf(table, known, columns);
  return { table, rows: readRows({ schema, rows: Number(h?.get("Shoal-Rows") ?? 0), chunks: [data] }, selection(only, select)) };
}

function selection(only: RowInterest | undefined, select: RowSelection | undefined): RowSelection | undefined {
  return select ?? (only === undefined ? undefined : { column: "device_id", keep: only.devices });
}

/** The schema of the logged columns (in the writer's order), remembered per table and column list. */
const logged = new Map<string, RowSchema>();
function schemaOf(table: string, known: RowSchema, names: readonly string[]): RowSchema {
  const key = `${table}:${names.join(",")}`;
  let schema = logged.get(key);
  if (schema === undefined) {
    const columns = names.map((n) => known.columns.find((c) => c.name === n));
    if (columns.some((c) => c === undefined)) throw new Error(`unknown columns ${names.join(",")} of ${table}`);
    schema = { columns: columns as RowSchema["columns"] };
    // Column lists come from Shoal's own writers: a handful per table.
    if (logged.size < 256) logged.set(key, schema);
  }
  return schema;
}
