import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import type { AlertTransition } from "../../gen/shoal/v1/alert_pb.js";
import { AlertSchema, AlertSeverity, AlertState, AlertTransitionSchema, TransitionKind } from "../../gen/shoal/v1/alert_pb.js";
import type { AlertFilter, AlertRow } from "./alerts-model.js";
import { MAX_ALERT_ROWS, appendPage, applyAlert, applyTransition, fromAlert, matches, severityOf, stateLabel, statesOf } from "./alerts-model.js";

const OPEN: AlertFilter = { states: ["open", "acknowledged"], device: "" };

const row = (id: string, startedAtMs: number, over: Partial<AlertRow> = {}): AlertRow => ({
  alertId: id,
  deviceId: id.split("/")[0]!,
  rule: "high",
  metric: "temp",
  severity: AlertSeverity.WARNING,
  state: AlertState.FIRING,
  startedAtMs,
  updatedAtMs: startedAtMs,
  resolvedAtMs: 0,
  summary: "too hot",
  detail: "",
  version: 1,
  flapping: false,
  ...over,
});

const transition = (id: string, version: number, state: AlertState, over: Partial<Omit<AlertTransition, "$typeName">> = {}): AlertTransition =>
  create(AlertTransitionSchema, {
    alertId: id,
    version: BigInt(version),
    deviceId: id.split("/")[0]!,
    rule: "high",
    metric: "temp",
    kind: TransitionKind.RAISED,
    state,
    severity: AlertSeverity.WARNING,
    atMs: 5000n,
    startedAtMs: 1000n,
    ...over,
  });

describe("alerts model", () => {
  it("maps URL names to states and back", () => {
    expect(statesOf(["open", "resolved"])).toEqual([AlertState.FIRING, AlertState.RESOLVED]);
    expect(stateLabel(AlertState.ACKNOWLEDGED)).toBe("acknowledged");
    expect(severityOf(undefined)).toBe(AlertSeverity.UNSPECIFIED);
    expect(severityOf("critical")).toBe(AlertSeverity.CRITICAL);
  });

  it("filters by state, device and minimum severity", () => {
    expect(matches(row("a/high/1", 1), OPEN)).toBe(true);
    expect(matches(row("a/high/1", 1, { state: AlertState.RESOLVED }), OPEN)).toBe(false);
    expect(matches(row("a/high/1", 1), { ...OPEN, device: "b" })).toBe(false);
    expect(matches(row("a/high/1", 1), { ...OPEN, minSeverity: "critical" })).toBe(false);
    expect(matches(row("a/high/1", 1, { severity: AlertSeverity.CRITICAL }), { ...OPEN, minSeverity: "warning" })).toBe(true);
  });

  it("updates a listed alert with a newer transition and ignores replays", () => {
    const rows = [row("a/high/1", 1000)];
    const acked = applyTransition(rows, transition("a/high/1", 2, AlertState.ACKNOWLEDGED, { reason: "on it", by: "ann" }), OPEN);
    expect(acked[0]).toMatchObject({ state: AlertState.ACKNOWLEDGED, version: 2, detail: "on it", updatedAtMs: 5000, summary: "too hot" });
    expect(applyTransition(acked, transition("a/high/1", 2, AlertState.FIRING), OPEN)).toBe(acked);
    expect(applyTransition(acked, transition("a/high/1", 1, AlertState.FIRING), OPEN)).toBe(acked);
  });

  it("removes an alert that leaves the filter and adds a new one in ListAlerts order", () => {
    const rows = [row("c/high/1", 3000), row("a/high/1", 1000)];
    const resolved = applyTransition(rows, transition("c/high/1", 2, AlertState.RESOLVED), OPEN);
    expect(resolved.map((r) => r.alertId)).toEqual(["a/high/1"]);
    const raised = applyTransition(rows, transition("b/high/1", 1, AlertState.FIRING, { startedAtMs: 2000n }), OPEN);
    expect(raised.map((r) => r.alertId)).toEqual(["c/high/1", "b/high/1", "a/high/1"]);
    const newest = applyTransition(rows, transition("d/high/1", 1, AlertState.FIRING, { startedAtMs: 9000n }), OPEN);
    expect(newest[0]!.alertId).toBe("d/high/1");
    // Not in the list and not matching: nothing changes.
    expect(applyTransition(rows, transition("z/high/1", 3, AlertState.RESOLVED), OPEN)).toBe(rows);
    expect(applyTransition(rows, transition("z/high/1", 1, AlertState.FIRING), { ...OPEN, device: "q" })).toBe(rows);
  });

  it("stays bounded", () => {
    let rows: readonly AlertRow[] = [];
    for (let i = 0; i < MAX_ALERT_ROWS + 50; i++) rows = applyTransition(rows, transition(`d${i}/high/1`, 1, AlertState.FIRING, { startedAtMs: BigInt(i + 1) }), OPEN);
    expect(rows.length).toBe(MAX_ALERT_ROWS);
    expect(rows[0]!.alertId).toBe(`d${MAX_ALERT_ROWS + 49}/high/1`);
  });

  it("appends pages without duplicates and applies a command's answer", () => {
    const rows = [row("a/high/2", 2000), row("a/high/1", 1000)];
    expect(appendPage(rows, [row("a/high/1", 1000), row("a/high/0", 500)]).map((r) => r.alertId)).toEqual(["a/high/2", "a/high/1", "a/high/0"]);
    const alert = create(AlertSchema, { alertId: "a/high/1", deviceId: "a", rule: "high", state: AlertState.RESOLVED, version: 3n, startedAtMs: 1000n });
    expect(fromAlert(alert)).toMatchObject({ alertId: "a/high/1", version: 3, startedAtMs: 1000 });
    expect(applyAlert(rows, alert, OPEN).map((r) => r.alertId)).toEqual(["a/high/2"]);
    expect(applyAlert(rows, alert, { ...OPEN, states: ["resolved"] })[1]).toMatchObject({ state: AlertState.RESOLVED });
    expect(applyAlert(rows, create(AlertSchema, { alertId: "a/high/1", version: 1n }), OPEN)).toBe(rows);
  });
});
