import type { ClickHouseOptions } from "./client.js";
import { createClickHouseClient } from "./client.js";
import { toStorageError } from "./errors.js";
import type { Silence } from "../../ports/alerts.js";
import { ALERT_TRANSITIONS_TABLE } from "../../domain/tables.js";

/**
 * Silence changes in the alerts' history (`alert_transitions`, alert id `silence/<id>`, kind
 * `silenced` or `unsilenced`, with who and why): silences are not alerts (ListAlerts does not show
 * them), but an operator reading the history sees who muted what, when and why. Inserted directly
 * (not through the row log: nothing notifies on them).
 */
export function createSilenceHistory(o: ClickHouseOptions): { record(s: Silence, action: "created" | "deleted", change: { by: string; reason: string; atMs: number }): Promise<void>; close(): Promise<void> } {
  const client = createClickHouseClient(o);
  return {
    async record(s, action, change) {
      const what = [s.deviceId ? `device ${s.deviceId}` : "", s.rule ? `rule ${s.rule}` : ""].filter(Boolean).join(", ");
      const row = {
        alert_id: `silence/${s.id}`,
        version: action === "created" ? 1 : 2,
        device_id: s.deviceId ?? "",
        rule: s.rule ?? "",
        metric: "",
        kind: action === "created" ? "silenced" : "unsilenced",
        state: action === "created" ? "silenced" : "resolved",
        severity: "info",
        at_ms: change.atMs,
        started_at_ms: s.createdAtMs,
        value: Math.max(0, s.untilMs - s.createdAtMs),
        summary: action === "created" ? `silenced ${what} until ${new Date(s.untilMs).toISOString()}` : `silence of ${what} removed`,
        by: change.by,
        reason: change.reason,
        flapping: 0,
      };
      try {
        await client.insert({ table: ALERT_TRANSITIONS_TABLE, values: [row], format: "JSONEachRow" });
      } catch (e) {
        throw toStorageError(e, "silence history insert failed");
      }
    },
    close: () => client.close(),
  };
}
