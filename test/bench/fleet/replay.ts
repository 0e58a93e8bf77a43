/**
 * Does the detector state at the end equal a replay in time order? For a sample of devices: their
 * stored rows (FINAL, by ts_ms) fed in time order to a fresh device actor with the run's settings
 * (explanations off), each reading with the seq and boot number the device sent (from the
 * simulator's acknowledgements); then the rows whose metric_scores differ from the replay's. To
 * tell why, the device's readings are also replayed exactly as they reached its actor: read back from
 * the journal (JetStream) in stream order, duplicates and all.
 */
import { createDeviceActor } from "../../../actors/device/device.actor.js";
import type { Reading } from "../../../src/ports/reading.js";
import type { DeviceMsg, DeviceSettings } from "../../../actors/device/device.messages.js";
import type { ActorContext } from "../../../src/ports/actor.js";
import type { Row } from "../../../src/ports/row-sink.js";
import { chQuery } from "../../support/pipeline.js";
import type { PublishedLog } from "./published.js";

export interface ReplayResult {
  readonly device: string;
  readonly rows: number;
  /** Rows whose metric_scores are not exactly the replay's / differ by more than 1e-9. */
  readonly differ: number;
  readonly differBeyond1e9: number;
  /** Rows the replay did not write (its sequence model did not apply that reading). */
  readonly notReplayed: number;
  /** Rows whose epoch differs from the replay's. */
  readonly epochDiffer: number;
  /** Index (in time order) of the first row whose scores differ, -1: none. */
  readonly firstDiffAt: number;
  /** Readings in the journal for the device (duplicates included). */
  readonly journalReadings: number;
  /** Readings that reached the actor after a reading measured later (journal order). */
  readonly arrivedLate: number;
  /** Rows whose metric_scores differ from a replay of the journal in its order: 0 = the live actor is the journal replayed. */
  readonly differFromArrivalOrder: number;
}

interface StoredRow {
  epoch: string;
  seq: string;
  ts: string;
  metric_names: string[];
  metric_values: number[];
  metric_scores: number[];
}

export async function replayDevice(chUrl: string, db: string, id: string, settings: Partial<DeviceSettings>, published: PublishedLog, journal: readonly Reading[]): Promise<ReplayResult> {
  const rows = await chQuery<StoredRow>(
    chUrl,
    db,
    `SELECT toString(epoch) AS epoch, toString(seq) AS seq, toString(ts_ms) AS ts, metric_names, metric_values, metric_scores FROM readings FINAL WHERE device_id = '${id}' ORDER BY ts_ms, epoch, seq`,
  );
  const log = published.devices.get(id);
  const byTs = published.indexByTs(id);
  const inTimeOrder = rows.map((r): Reading => {
    const tsMs = Number(r.ts);
    const i = byTs.get(tsMs);
    // The seq and boot number the device sent (rows hold Shoal's epoch and unwrapped seq).
    const seq = i !== undefined && log !== undefined ? log.seq[i]! : Number(r.seq);
    const boot = i !== undefined && log !== undefined && log.boot[i]! >= 0 ? log.boot[i]! : undefined;
    const metrics: Record<string, number> = {};
    r.metric_names.forEach((n, k) => (metrics[n] = r.metric_values[k]!));
    return { deviceId: id, seq, tsMs, metrics, ...(boot !== undefined ? { boot } : {}) };
  });
  const sentAt = (tsMs: number) => (log !== undefined && byTs.has(tsMs) ? log.sent[byTs.get(tsMs)!]! : tsMs);
  const written = feed(id, inTimeOrder, settings, sentAt);
  const writtenInArrival = feed(id, journal, settings, sentAt);
  let arrivedLate = 0;
  let maxTs = -Infinity;
  for (const r of journal) {
    if (r.tsMs < maxTs) arrivedLate++;
    maxTs = Math.max(maxTs, r.tsMs);
  }
  let differFromArrivalOrder = 0;
  for (const r of rows) {
    const w = writtenInArrival.get(Number(r.ts));
    if (w === undefined || !sameScores(r.metric_scores, w.scores)) differFromArrivalOrder++;
  }
  let differ = 0;
  let differBeyond1e9 = 0;
  let notReplayed = 0;
  let epochDiffer = 0;
  let firstDiffAt = -1;
  rows.forEach((r, k) => {
    const w = written.get(Number(r.ts));
    if (w === undefined) {
      notReplayed++;
      return;
    }
    if (w.epoch !== Number(r.epoch)) epochDiffer++;
    const a = r.metric_scores;
    const b = w.scores;
    if (!sameScores(a, b)) {
      differ++;
      if (firstDiffAt < 0) firstDiffAt = k;
      if (a.length !== b.length || a.some((x, j) => Math.abs(x - b[j]!) > 1e-9)) differBeyond1e9++;
    }
  });
  return { device: id, rows: rows.length, differ, differBeyond1e9, notReplayed, epochDiffer, firstDiffAt, journalReadings: journal.length, arrivedLate, differFromArrivalOrder };
}

function sameScores(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, j) => x === b[j]);
}

/** A fresh device actor fed `readings` in the order given (clock: when each was sent); its `readings` rows by ts_ms. */
function feed(id: string, readings: readonly Reading[], settings: Partial<DeviceSettings>, sentAt: (tsMs: number) => number): Map<number, { epoch: number; scores: number[] }> {
  const logic = createDeviceActor({ ...settings, explainAnomalies: false });
  const written = new Map<number, { epoch: number; scores: number[] }>();
  let now = 0;
  const ctx: ActorContext<DeviceMsg> = {
    self: { type: "device", id },
    now: () => now,
    send: () => {},
    emit: () => {},
    write: (t, row: Row) => {
      if (t === "readings") written.set(Number(row["ts_ms"]), { epoch: Number(row["epoch"]), scores: [...(row["metric_scores"] as number[])] });
    },
    call: () => {},
    setTimer: () => {},
    cancelTimer: () => {},
  };
  let s = logic.initial(id);
  let streamSeq = 0;
  for (const reading of readings) {
    now = sentAt(reading.tsMs);
    s = logic.receive(s, { type: "reading", reading, streamSeq: ++streamSeq }, ctx);
  }
  return written;
}
