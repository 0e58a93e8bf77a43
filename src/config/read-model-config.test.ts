import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, RENAMED_KEYS, resolveConfig } from "./index.js";

/** The clickhouse.rollups and clickhouse.retention settings (docs/adr/0013-rollups-and-retention.md). */
const dir = mkdtempSync(join(tmpdir(), "shoal-read-model-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const DAY = 86_400_000;

describe("clickhouse.rollups and clickhouse.retention", () => {
  it("default to the documented values, in ms", () => {
    const { config } = resolveConfig({ env: {}, configDir: dir });
    expect(config.clickhouse.rollups).toEqual({ reconcileEveryMs: 60_000, reconcileWindowMs: 900_000, settleMs: 10_000 });
    expect(config.clickhouse.retention).toEqual({
      checkEveryMs: 3_600_000,
      deleteEveryMs: DAY,
      keepMs: { readings: 30 * DAY, readings_1m: 180 * DAY, readings_1h: 1825 * DAY, analyses: 365 * DAY, anomaly_windows: 365 * DAY, device_events: 365 * DAY, dead_letters: 30 * DAY, alerts: 365 * DAY, alert_transitions: 365 * DAY, reports: 1825 * DAY, audit_log: 730 * DAY },
    });
  });

  it("take any layer, environment variables included (0 = forever), and name their sources on the output keys", () => {
    const r = resolveConfig({
      env: { SHOAL__CLICKHOUSE__RETENTION__READINGS_1M: "90d", SHOAL__CLICKHOUSE__ROLLUPS__RECONCILEEVERY: "0" },
      configDir: dir,
      consulLayer: { clickhouse: { retention: { reports: 0, checkEvery: "10m" }, rollups: { settle: "30s" } } },
    });
    expect(r.config.clickhouse.retention.keepMs).toMatchObject({ readings_1m: 90 * DAY, reports: 0 });
    expect(r.config.clickhouse.retention.checkEveryMs).toBe(600_000);
    expect(r.config.clickhouse.rollups).toMatchObject({ reconcileEveryMs: 0, settleMs: 30_000 });
    expect(r.sources.get("clickhouse.retention.keepMs.readings_1m")).toBe("env:SHOAL__CLICKHOUSE__RETENTION__READINGS_1M");
    expect(r.sources.get("clickhouse.rollups.settleMs")).toBe("consul:shoal/dev/config.yaml");
    for (const [input, output] of Object.entries(RENAMED_KEYS).filter(([k]) => /^clickhouse\.(rollups|retention)\./.test(k))) {
      const path = output.split(".");
      let v: unknown = r.config;
      for (const k of path) v = (v as Record<string, unknown>)[k];
      expect(typeof v, `${input} -> ${output}`).toBe("number");
    }
  });

  it("rejects values out of range with the rule", () => {
    const bad = () => resolveConfig({ env: {}, configDir: dir, consulLayer: { clickhouse: { rollups: { reconcileWindow: "10s" }, retention: { deleteEvery: 0, readings: "-1d", foo: "1d" } } } });
    expect(bad).toThrow(ConfigError);
    const msg = (() => {
      try {
        bad();
      } catch (e) {
        return (e as Error).message;
      }
      return "";
    })();
    expect(msg).toContain("clickhouse.rollups.reconcileWindow: must be between 1m and 7d");
    expect(msg).toContain("clickhouse.retention.deleteEvery: must be between 1m and 365d");
    expect(msg).toContain('clickhouse.retention.readings: invalid duration "-1d"');
    expect(msg).toContain('clickhouse.retention: unknown key "foo"');
  });
});
