/**
 * One device actor driven in-process, without a runtime: the device actor's own logic
 * (createDeviceActor) fed one reading at a time through a context that keeps what it writes.
 * `shoal detect` and the detection benchmarks score users' files through it, so their scores are
 * by construction the ones the running platform stores for the same readings (same code, same
 * parameters, same order). Pure: no I/O, no timers, no gateway (explanations are off).
 */
import type { ActorContext } from "../../src/ports/actor.js";
import type { Row } from "../../src/ports/row-sink.js";
import type { Reading } from "../../src/ports/reading.js";
import { READINGS_TABLE } from "../../src/domain/tables.js";
import { createDeviceActor } from "./device.actor.js";
import type { AnalysisEvent, DeviceMsg, DeviceSettings } from "./device.messages.js";

/** What the device actor made of one reading. */
export interface OfflineScore {
  /** The reading's score (what the `readings` row stores in `score`). */
  readonly score: number;
  /** Metric names of the reading, in its order, and their scores (`metric_names`, `metric_scores`). */
  readonly names: readonly string[];
  readonly scores: readonly number[];
  /** The analysis event when the score reached `threshold`, with the reasons it carries; else undefined. */
  readonly anomaly: AnalysisEvent | undefined;
  /** The reading was not applied (a duplicate or out-of-order seq): nothing was scored. */
  readonly skipped: boolean;
}

/** A device actor fed by hand. */
export interface OfflineDevice {
  /** Feeds one reading (seq 0: none, as a device without a counter) and returns what the actor stored for it. */
  feed(reading: Omit<Reading, "deviceId">): OfflineScore;
  /** The actor's snapshot bytes (state round trips, bytes per device). */
  snapshot(): Uint8Array;
  /** Readings fed so far. */
  readonly fed: number;
}

/**
 * A device actor for `deviceId` with `settings` (defaults for the rest; `explainAnomalies` is
 * forced off: there is no gateway here). The clock is the reading's own timestamp, so no reading
 * is "historical" and the result does not depend on when the file is scored.
 */
export function createOfflineDevice(deviceId: string, settings: Partial<DeviceSettings> = {}): OfflineDevice {
  const logic = createDeviceActor({ ...settings, explainAnomalies: false });
  let state = logic.initial(deviceId);
  let now = 0;
  let row: Row | undefined;
  let anomaly: AnalysisEvent | undefined;
  let fed = 0;
  const ctx: ActorContext<DeviceMsg> = {
    self: { type: "device", id: deviceId },
    now: () => now,
    send: () => undefined,
    emit: (_subject, event) => {
      const ev = event as { kind?: string };
      if (ev.kind === "anomaly") anomaly = event as AnalysisEvent;
    },
    write: (table, r) => {
      if (table === READINGS_TABLE) row = r;
    },
    call: () => undefined,
    setTimer: () => undefined,
    cancelTimer: () => undefined,
  };
  return {
    feed(reading) {
      fed++;
      now = reading.tsMs;
      row = undefined;
      anomaly = undefined;
      state = logic.receive(state, { type: "reading", reading: { deviceId, ...reading }, streamSeq: fed }, ctx);
      if (row === undefined) return { score: 0, names: [], scores: [], anomaly: undefined, skipped: true };
      const r = row as { score: number; metric_names: string[]; metric_scores: number[] };
      return { score: r.score, names: r.metric_names, scores: r.metric_scores, anomaly, skipped: false };
    },
    snapshot: () => logic.snapshot(state),
    get fed() {
      return fed;
    },
  };
}
