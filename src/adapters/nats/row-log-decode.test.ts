import { headers } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { RowBinaryWriter } from "../../domain/row-binary.js";
import { ALERTS_TABLE, READINGS_SCHEMA, READINGS_TABLE } from "../../domain/tables.js";
import type { Row } from "../../ports/row-sink.js";
import { decodeRowLogMessage } from "./row-log-decode.js";

/** The row log's decoder (the feed itself runs on real NATS: test/integration/query-fleet.test.ts). */
const reading = (device: string, seq: number): Row => ({
  device_id: device,
  epoch: 0,
  seq,
  ts_ms: 1_700_000_000_000 + seq,
  metric_names: ["temp", "hum"],
  metric_values: [20.5, 40],
  metric_scores: [0.1, 0.2],
  score: 0.2,
  log: seq % 2 === 0 ? "" : "ok",
  stream_seq: seq,
});

function message(table: string, rows: Row[], format: "RowBinary" | "JSONEachRow" = "RowBinary") {
  const h = headers();
  h.set("Shoal-Table", table);
  h.set("Shoal-Format", format);
  h.set("Shoal-Columns", READINGS_SCHEMA.columns.map((c) => c.name).join(","));
  h.set("Shoal-Rows", String(rows.length));
  const data = format === "RowBinary" ? new RowBinaryWriter(READINGS_SCHEMA).encode(rows).binary!.chunks[0]! : new TextEncoder().encode(rows.map((r) => JSON.stringify(r)).join("\n"));
  return { h, data };
}

describe("row log decoding", () => {
  const rows = Array.from({ length: 50 }, (_, i) => reading(`dev-${i % 10}`, i));
  const watched = new Set(["dev-3", "dev-7"]);
  const only = { tables: new Set([READINGS_TABLE]), devices: (id: string) => watched.has(id) };

  it("gives every row without an interest, and only the watched devices' rows with one (RowBinary and JSON)", () => {
    for (const format of ["RowBinary", "JSONEachRow"] as const) {
      const { h, data } = message(READINGS_TABLE, rows, format);
      expect(decodeRowLogMessage(h, data)).toEqual({ table: READINGS_TABLE, rows });
      expect(decodeRowLogMessage(h, data, only)).toEqual({ table: READINGS_TABLE, rows: rows.filter((r) => watched.has(r["device_id"] as string)) });
    }
  });

  it("gives only the rows whose column passes a selection (RowBinary and JSON)", () => {
    const withLog = { column: "log", keep: (v: string) => v !== "" };
    for (const format of ["RowBinary", "JSONEachRow"] as const) {
      const { h, data } = message(READINGS_TABLE, rows, format);
      const got = decodeRowLogMessage(h, data, undefined, withLog);
      expect(got).toEqual({ table: READINGS_TABLE, rows: rows.filter((r) => r["log"] !== "") });
      expect(got!.rows).toHaveLength(25);
    }
  });

  it("leaves out a table outside the interest without reading its body", () => {
    const { h } = message(READINGS_TABLE, rows);
    expect(decodeRowLogMessage(h, new Uint8Array([1, 2, 3]), { ...only, tables: new Set([ALERTS_TABLE]) })).toBeUndefined();
    expect(() => decodeRowLogMessage(h, new Uint8Array([1, 2, 3]), only)).toThrow(/truncated rows/);
  });
});
