import type { ActorContext } from "../../src/ports/actor.js";
import { ANOMALY_WINDOWS_TABLE } from "../../src/domain/tables.js";
import { ANOMALY_WINDOW_AFTER, windowFeatures } from "../../src/domain/window-features.js";
import type { DeviceMsg } from "./device.messages.js";
import { MAX_PENDING_WINDOWS, pushPending, PW, PW_EPOCH, PW_LEFT, PW_METRIC, PW_SCORE, PW_SEQ, PW_TS } from "./device-state.js";
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
 * is completed at once with the readings there are.
 */
export function openWindow(state: DeviceState, epoch: number, seq: number, tsMs: number, metric: number, score: number, ctx: ActorContext<DeviceMsg>): void {
  const p = state.pending;
  if (p !== undefined && p.length >= MAX_PENDING_WINDOWS * PW) {
    writeWindow(state, p, 0, ctx);
    p.splice(0, PW);
  }
  pushPending(state, epoch, seq, tsMs, metric, score, ANOMALY_WINDOW_AFTER);
}

/**
 * The open incident a new anomaly belongs to, as the anomaly that opened it (the oldest open
 * window's): when the anomaly comes from the device-level model (`joint`) while a window is open,
 * so a step on one metric and the broken relation the model sees a few readings later are one
 * anomaly with one window and one explanation. Undefined: a new incident (no window open, or a
 * per-metric anomaly: each metric's own rest decides when it alarms again, docs/adr/0003).
 */
export function openIncident(state: DeviceState, joint: boolean): { epoch: number; seq: number } | undefined {
  const p = state.pending;
  return joint && p !== undefined ? { epoch: p[PW_EPOCH]!, seq: p[PW_SEQ]! } : undefined;
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
