import { describe, expect, it } from "vitest";
import { createOfflineDevice } from "./offline-device.js";
import { lehmerGaussian } from "../../test/support/seeded-noise.js";

describe("device actor with the device-level model", () => {
  it("flags two correlated sensors that decouple inside their ranges, with joint reasons, where the per-metric detectors stay quiet", () => {
    for (const jointModel of [true, false]) {
      const g = lehmerGaussian(21);
      const dev = createOfflineDevice("j-1", { jointModel });
      const anomalies = [];
      for (let i = 1; i <= 5300; i++) {
        const a = 50 + 5 * Math.sin(i / 200) + 0.3 * g();
        const got = dev.feed({ seq: i, tsMs: i * 1000, metrics: { inlet: a, outlet: a + 2 + 0.1 * g() + (i > 5000 ? 0.3 : 0), fan: 1200 + 5 * g() } });
        if (got.anomaly) anomalies.push(got.anomaly);
      }
      if (!jointModel) {
        expect(anomalies.filter((a) => a.seq > 5000)).toEqual([]);
        continue;
      }
      expect(anomalies.filter((a) => a.seq > 300 && a.seq <= 5000)).toEqual([]);
      const found = anomalies.filter((a) => a.seq > 5000);
      expect(found).toHaveLength(1);
      expect(["inlet", "outlet"]).toContain(found[0]!.metric);
      expect(found[0]!.reasons[0]).toMatchObject({ term: "joint" });
      expect(found[0]!.reasons.some((r) => r.metric === "fan")).toBe(false);
    }
  });
});
