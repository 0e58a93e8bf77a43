import type { MsgHdrs } from "@nats-io/transport-node";
import type { Row, RowSchema } from "../../ports/row-sink.js";
import { readRows } from "../../domain/row-binary.js";
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
 * back; throws when the message does not decode.
 */
export function decodeRowLogMessage(h: MsgHdrs | undefined, data: Uint8Array): { table: string; rows: Row[] } | undefined {
  const table = h?.get("Shoal-Table") ?? "";
  const known = SCHEMAS.get(table);
  if (known === undefined) return undefined;
  if (h?.get("Shoal-Format") === "JSONEachRow") {
    return { table, rows: dec.decode(data).split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Row) };
  }
  const names = (h?.get("Shoal-Columns") ?? "").split(",");
  const columns = names.map((n) => known.columns.find((c) => c.name === n));
  if (columns.some((c) => c === undefined)) throw new Error(`unknown columns ${names.join(",")} of ${table}`);
  return { table, rows: readRows({ schema: { columns: columns as RowSchema["columns"] }, rows: Number(h?.get("Shoal-Rows") ?? 0), chunks: [data] }) };
}
