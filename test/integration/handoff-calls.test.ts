/**
 * A partition handed off while its actors wait for the model gateway: the release waits for the
 * partition's outstanding calls (bounded by the gateway client's timeout), so every anomaly's
 * explanation still lands in `analyses` — before, the replies came back to a released partition
 * and were dropped (counted as lost). Real nats-server (JetStream) and ClickHouse; the gateway is
 * an in-process ModelGateway whose explain calls are held until the test lets them go.
 */
import { describe, expect, it } from "vitest";
import { JournalPublisher } from "../../src/adapters/nats/journal-publisher.js";
import { startRuntimeRole } from "../../src/cli/roles/runtime-role.js";
import { encodeReading } from "../../src/domain/reading-codec.js";
import { partitionOf } from "../../src/domain/partition.js";
import { readingSubject } from "../../src/domain/subjects.js";
import type { ExplainRequest, ExplainResult, ModelGateway } from "../../src/ports/gateway.js";
import { chQuery, pipelineConfig, quietLogger, waitFor } from "../support/pipeline.js";
import { useRuntimeServices } from "../support/runtime-services.js";
import { sleep } from "../../src/base/clock.js";

const PARTITIONS = 4;
const DEVICES = 40;
const PER_DEVICE = 30; // readings 1..29 quiet, 30 a spike: one anomaly (one explain call) per device
const DB = "handoff_calls";

/** A gateway whose explain calls wait until `open()`. */
function heldGateway() {
  let open: () => void = () => {};
  const gate = new Promise<void>((r) => (open = r));
  const g = {
    explains: 0,
    open: () => open(),
    gateway: {
      async explain(req: ExplainRequest): Promise<ExplainResult> {
        g.explains++;
        await gate;
        return {
          summary: `spike on ${req.window?.deviceId ?? "?"}`,
          likelyCause: "test",
          suggestedAction: "none",
          model: { provider: "held", model: "held-1", promptVersion: "explain@1", cached: false, degraded: false, costUsd: 0, latencyMs: 0 },
        } as unknown as ExplainResult;
      },
      score: () => Promise.reject(new Error("not used")),
      embed: () => Promise.reject(new Error("not used")),
      summarize: () => Promise.reject(new Error("not used")),
    } as unknown as ModelGateway,
  };
  return g;
}

describe("handoff with gateway calls in flight", () => {
  const svc = useRuntimeServices();

  const count = async (sql: string) => Number((await chQuery<{ n: string }>(svc.ch.url, DB, sql))[0]?.n ?? 0);

  it("stores every explanation of a released partition's anomalies (release waits for its calls)", async () => {
    const held = heldGateway();
    const cfg = pipelineConfig(
      svc.urls,
      { SHOAL__NATS__PARTITIONS: String(PARTITIONS), SHOAL__CLICKHOUSE__DATABASE: DB, SHOAL__RUNTIME__WORKERS: "2", SHOAL__DETECTOR__THRESHOLD: "0.9", SHOAL__ACTORCACHE__ENABLED: "false" },
    );
    const rt = (svc.rt = await startRuntimeRole(cfg, quietLogger("runtime"), "all", { gateway: held.gateway }));
    const pub = JournalPublisher.create(svc.nc, 256);
    const sends: Promise<unknown>[] = [];
    for (let seq = 1; seq <= PER_DEVICE; seq++) {
      for (let d = 0; d < DEVICES; d++) {
        const deviceId = `hc-${d}`;
        const v = seq === PER_DEVICE ? 10_000 : 20 + Math.sin(seq / 3 + d) * 0.5;
        sends.push(pub.publish(readingSubject(partitionOf(deviceId, PARTITIONS), deviceId), encodeReading({ deviceId, seq, tsMs: 1_764_000_000_000 + seq * 1000, metrics: { t: v } }), `${deviceId}:${seq}`));
      }
    }
    await Promise.all(sends);
    await waitFor(() => count("SELECT count() AS n FROM readings"), (n) => n >= DEVICES * PER_DEVICE, 60_000, "every reading stored");
    await waitFor(async () => held.explains, (n) => n >= DEVICES, 30_000, "an explain call per device, held");
    expect(await count("SELECT count() AS n FROM readings WHERE seq = 30 AND score >= 0.9")).toBe(DEVICES);

    // Hand every partition off while all explain calls are held; let them go a little later.
    let releasedAt = 0;
    const released = Promise.all(rt.owned().map((p) => rt!.release(p))).then(() => (releasedAt = Date.now()));
    await sleep(500);
    const openedAt = Date.now();
    held.open();
    await released;
    expect(rt.owned()).toEqual([]);
    expect(releasedAt).toBeGreaterThanOrEqual(openedAt); // the release waited for the calls
    await waitFor(() => count("SELECT count() AS n FROM analyses"), (n) => n >= DEVICES, 30_000, "an analyses row per anomaly");
    expect(await count("SELECT count() AS n FROM analyses")).toBe(DEVICES);
    expect(await count("SELECT uniqExact(device_id) AS n FROM analyses WHERE provider = 'held'")).toBe(DEVICES);
  });
});
