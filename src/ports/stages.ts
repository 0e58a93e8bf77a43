import type { MetricsRegistry } from "./metrics.js";

/**
 * Where a reading waits on its way (ADR 0009): each stage is observed once per journal message or
 * pull batch, as the time since a reference point, in ms.
 * - `journal`: its first reading accepted by the bridge → the journal message's PubAck (bridge).
 * - `pulled`: stored in the journal → pulled by its partition's owner (runtime node).
 * - `applied`: stored → the actors' turns done and rows encoded (runtime node).
 * - `durable`: stored → rows durable in ClickHouse and the message acknowledged (runtime node).
 * The last three use the journal's store time (JetStream's clock): across machines they include the
 * clocks' skew.
 */
export type ReadingStage = "journal" | "pulled" | "applied" | "durable";

/** Observes how long readings waited until `stage`, ms. */
export type StageObserver = (stage: ReadingStage, ms: number) => void;

/** Buckets of `shoal_reading_stage_seconds`. */
export const STAGE_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30, 60];

/** A StageObserver feeding the histogram `shoal_reading_stage_seconds{stage}` of `metrics`. */
export function stageHistogram(metrics: MetricsRegistry): StageObserver {
  const h = metrics.histogram("shoal_reading_stage_seconds", "How long readings waited until a stage of their path (ADR 0009), seconds", ["stage"], STAGE_BUCKETS);
  return (stage, ms) => h.observe({ stage }, Math.max(0, ms) / 1000);
}
