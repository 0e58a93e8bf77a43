import type { ClickHouseClient } from "@clickhouse/client";
import { insertEncoded } from "../../src/adapters/clickhouse/encoded-rows.js";
import { RowBinaryWriter } from "../../src/domain/row-binary.js";
import { READINGS_FEED_TABLE, READINGS_SCHEMA, READINGS_TABLE } from "../../src/domain/tables.js";
import type { Row } from "../../src/ports/row-sink.js";

/**
 * Insert readings as the ClickHouse sink does: into `readings`, then the same rows into
 * `readings_feed`, whose views keep the rollups and device_status (migration 18; the sink copies
 * each accepted insert there). RowBinary keeps doubles exact (18.16 parses JSON floats to a nearby
 * double); JSONEachRow takes rows with missing columns (defaults).
 */
export async function insertReadings(client: ClickHouseClient, rows: readonly Row[], format: "RowBinary" | "JSONEachRow" = "RowBinary"): Promise<void> {
  if (rows.length === 0) return;
  for (const table of [READINGS_TABLE, READINGS_FEED_TABLE]) {
    if (format === "JSONEachRow") await client.insert({ table, values: [...rows], format });
    else {
      const b = new RowBinaryWriter(READINGS_SCHEMA).encode([...rows]).binary!;
      await insertEncoded(client, table, "RowBinary", READINGS_SCHEMA.columns.map((c) => c.name), b.chunks);
    }
  }
}
