import { describe, expect, it } from "vitest";
import type { AlertTransition } from "../domain/alerts.js";
import { ALERT_TRANSITIONS_SCHEMA } from "../domain/tables.js";
import { RowBinaryWriter } from "../domain/row-binary.js";
import { readRows } from "../domain/row-binary-read.js";
import { transitionRow } from "../../actors/alert/index.js";
import { transitionFromRow } from "./transition-row.js";

const T: AlertTransition = { alertId: "pump-7/hot/12", version: 3, deviceId: "pump-7", rule: "hot", metric: "temp", kind: "flapping", state: "firing", severity: "critical", atMs: 1_800_000_000_123, startedAtMs: 1_799_999_000_000, value: 81.5, summary: "temp 81.5 ≥ 80", by: "", reason: "4 changes in 10m", flapping: true };

describe("transitionFromRow", () => {
  it("reads back what the device actor writes, as objects (JSONEachRow) and as RowBinary", () => {
    const row = transitionRow(T);
    expect(transitionFromRow(JSON.parse(JSON.stringify(row)) as typeof row)).toEqual(T);
    const [back] = readRows(new RowBinaryWriter(ALERT_TRANSITIONS_SCHEMA).encode([row]).binary!);
    expect(transitionFromRow(back!)).toEqual(T);
    expect(transitionFromRow({ ...row, flapping: 0 }).flapping).toBe(false);
    expect(transitionFromRow({ ...row, version: "3", at_ms: "1800000000123" })).toEqual(T);
  });

  it("rejects a row that is no transition, naming the column, as not retryable", () => {
    const row = transitionRow(T);
    for (const [k, v] of [["kind", "exploded"], ["state", "open"], ["severity", "meh"], ["version", 0], ["alert_id", ""], ["at_ms", "soon"], ["summary", 3]] as const) {
      let err: unknown;
      try {
        transitionFromRow({ ...row, [k]: v });
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: "invalid_input", retryable: false });
      expect((err as Error).message).toContain(`bad ${k}`);
    }
  });
});
