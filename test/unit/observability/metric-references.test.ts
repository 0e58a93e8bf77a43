import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { deadUses, metricNamesOf, metricUses } from "../../support/metric-references.js";

const DEPLOY = fileURLToPath(new URL("../../../deploy/", import.meta.url));

describe("metric references of the dashboards and alert rules", () => {
  it("reads the metric names of a PromQL expression", () => {
    expect(metricNamesOf('histogram_quantile(0.99, sum by (le) (rate(shoal_reading_stage_seconds_bucket{stage="durable"}[5m]))) + shoal_bridge_held')).toEqual(["shoal_reading_stage_seconds_bucket", "shoal_bridge_held"]);
  });

  it("flags a panel whose metric nobody exports, and accepts a histogram's series", () => {
    const exposition = "# HELP shoal_a_total a\n# TYPE shoal_a_total counter\nshoal_a_total 1\n# TYPE shoal_h_seconds histogram\nshoal_h_seconds_bucket{le=\"1\"} 0\n";
    const uses = [
      { metric: "shoal_a_total", where: "x" },
      { metric: "shoal_h_seconds_bucket", where: "y" },
      { metric: "shoal_a_total_bucket", where: "not a histogram" },
      { metric: "shoal_dead_total", where: "dead panel" },
    ];
    expect(deadUses(uses, [exposition]).map((u) => u.where)).toEqual(["not a histogram", "dead panel"]);
  });

  it("finds the metrics of every dashboard and rule in deploy/, all named shoal_<part>_…", () => {
    const uses = metricUses(DEPLOY);
    const files = new Set(uses.map((u) => u.where.split(":")[0]));
    expect(files).toEqual(new Set(["shoal-pipeline.json", "shoal-runtime.json", "shoal-cluster.json", "shoal-gateway.json", "shoal-clickhouse.json", "rules.yaml"]));
    for (const u of uses) expect(u.metric, u.where).toMatch(/^shoal_[a-z]+_[a-z0-9_]+$/);
    expect(uses.length).toBeGreaterThan(50);
  });
});
