import type { ActorContext } from "../../src/ports/actor.js";
import { ANOMALY_WINDOWS_TABLE } from "../../src/domain/tables.js";
import { ANOMALY_WINDOW_AFTER, windowFeatures } from "../../src/domain/window-features.js";
import type { DeviceMsg } from "./device.messages.js";
import { MAX_PENDING_WINDOWS, pushPending, PW, PW_EPOCH, PW_JOINED, PW_LEFT, PW_METRIC, PW_SCORE, PW_SEQ, PW_TS } from "./device-state.js";
import type { DeviceState } from "./device-state.js";
import { recentValues } from "./metric-store.js";

/**
 * The anomaly windows a device actor holds open (src/domain/window-features.ts): each anomaly's
 * window is written as an `anomaly_windows` row once `ANOMALY_WINDOW_AFTER` readings of its metric
 * came after it (docs/adr/0015-vector-writes.md).
 */

/**
 * Holds an anomaly's window open until `ANOMALY_WINDOW_AFTER` readings of its metric came after it
 * (src/domain/window-features.ts). A device holds at most `MAX_PENDING_WINDOWS`: beyond, the oldest
 * is completed at once with the readings there are. `joined`: the anomaly joined an incident an
 * earlier one opened (its shape is kept all the same: a metric's own shape is what similar-incident
 * search compares).
 */
export function openWindow(state: DeviceState, epoch: number, seq: number, tsMs: number, metric: number, score: number, joined: boolean, ctx: ActorContext<DeviceMsg>): void {
  const p = state.pending;
  if (p !== undefined && p.length >= MAX_PENDING_WINDOWS * PW) {
    writeWindow(state, p, 0, ctx);
    p.splice(0, PW);
  }
  pushPending(state, epoch, seq, tsMs, metric, score, ANOMALY_WINDOW_AFTER, joined ? 1 : 0);
}

/**
 * The open incident a new anomaly at (`epoch`, `seq`) belongs to, as the anomaly that opened it:
 * the newest incident whose first anomaly's window is still open. One fault often shows on
 * several metrics within a few readings, and the device-level model sees the broken relation a
 * few readings after a metric's own detector: one incident, explained once.
 * - A device-level (`joint`) anomaly joins while that window is open.
 * - A per-metric anomaly joins when it comes at most `ANOMALY_WINDOW_AFTER` readings after the
 *   incident's first one by the device's counter (same epoch). A device without a counter (seq 0)
 *   has no such measure: its per-metric anomalies each open an incident, as does one further
 *   away (a metric that reports rarely keeps its window open for long).
 * Undefined: a new incident.
 */
export function openIncident(state: DeviceState, joint: boolean, epoch: number, seq: number): { epoch: number; seq: number; tsMs: number } | undefined {
  const p = state.pending;
  if (p === undefined) return undefined;
  let at = p.length - PW;
  while (at >= 0 && p[at + PW_JOINED] === 1) at -= PW;
  if (at < 0) return undefined;
  const opener = { epoch: p[at + PW_EPOCH]!, seq: p[at + PW_SEQ]!, tsMs: p[at + PW_TS]! };
  if (joint) return opener;
  return opener.epoch === epoch && opener.seq > 0 && seq > opener.seq && seq - opener.seq <= ANOMALY_WINDOW_AFTER ? opener : undefined;
}

/** An applied reading carrying `metrics`: counts for the open windows of those metrics; writes the complete ones. */
export function countPending(state: DeviceState, metrics: Readonly<Record<string, number>>, ctx: ActorContext<DeviceMsg>): void {
  const p = state.pending!;
  for (let at = 0; at < p.length; ) {
    if (Object.hasOwn(metrics, state.names[p[at + PW_METRIC]!]!)) {
      const left = p[at + PW_LEFT]! - 1;
      p[at + PW_LEFT] = left;
      if (left <= 0) {
        writeWindow(state, p, at, ctx);
        p.splice(at, PW);
        continue;
      }
    }
    at += PW;
  }
  if (p.length === 0) state.pending = undefined; // not `delete`: that would make the state a dictionary
}

/** Completes every open window now (the device went offline), oldest first. */
export function completeAll(state: DeviceState, ctx: ActorContext<DeviceMsg>): void {
  const p = state.pending!;
  for (let at = 0; at < p.length; at += PW) writeWindow(state, p, at, ctx);
  state.pending = undefined;
}

/**
 * The `anomaly_windows` row of the window at `p[at]`: the shape of its metric's recent values now,
 * keyed by the anomaly (not by the reading that completed it). None when the window has no shape (flat).
 */
function writeWindow(state: DeviceState, p: readonly number[], at: number, ctx: ActorContext<DeviceMsg>): void {
  const m = p[at + PW_METRIC]!;
  const shape = windowFeatures(recentValues(state, m));
  if (shape === null) return;
  ctx.write(ANOMALY_WINDOWS_TABLE, {
    device_id: state.id,
    epoch: p[at + PW_EPOCH]!,
    seq: p[at + PW_SEQ]!,
    ts_ms: p[at + PW_TS]!,
    metric: state.names[m]!,
    score: p[at + PW_SCORE]!,
    vector: Array.from(shape),
  });
}
