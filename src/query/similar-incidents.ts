import { Code, ConnectError } from "@connectrpc/connect";
import type { ReadModel } from "../ports/read-model.js";
import type { VectorStore } from "../ports/vector-store.js";
import { anomalyWindowId } from "../domain/anomaly-window.js";
import { ANOMALY_WINDOW_AFTER, windowFeatures } from "../domain/window-features.js";

const DAY = 86_400_000;

/** What to match: a stored anomaly (the newest at or before `atMs`), or any window of a metric. */
export type IncidentAnchor =
  | { readonly kind: "anomaly"; readonly deviceId: string; readonly metric: string; readonly atMs: number }
  | { readonly kind: "window"; readonly deviceId: string; readonly metric: string; readonly windowFromMs: number; readonly windowToMs: number };

export interface SimilarIncidentRow {
  readonly deviceId: string;
  readonly metric: string;
  readonly tsMs: number;
  readonly epoch: number;
  readonly seq: number;
  readonly score: number;
  readonly distance: number;
  readonly summary: string;
}

/**
 * The k stored anomaly windows nearest in shape to the anchor's window. An anomaly's vector is the
 * one its device actor stored (`anomaly_windows`, written {@link ANOMALY_WINDOW_AFTER} readings after
 * it: src/domain/window-features.ts), and the anomaly itself is left out of the answer; any other
 * window's is computed from the stored readings the same way.
 */
export async function findSimilarIncidents(
  d: { readonly readModel: ReadModel; readonly vectors: VectorStore },
  anchor: IncidentAnchor,
  k: number,
  otherDevicesOnly: boolean,
  signal: AbortSignal,
): Promise<SimilarIncidentRow[]> {
  let vector: ArrayLike<number> | null;
  let selfId = "";
  if (anchor.kind === "anomaly") {
    const found = await d.readModel.analyses({ deviceId: anchor.deviceId, fromMs: anchor.atMs - 30 * DAY, toMs: anchor.atMs + 1, minScore: 0, limit: 200 }, signal);
    const a = found.find((x) => anchor.metric === "" || x.metric === anchor.metric);
    if (a === undefined) throw new ConnectError(`device ${anchor.deviceId}: no anomaly${anchor.metric ? ` of ${anchor.metric}` : ""} in the 30 days up to ts_ms`, Code.NotFound);
    selfId = anomalyWindowId(a);
    vector = (await d.readModel.anomalyWindow(a, signal)) ?? null;
    if (vector === null) {
      throw new ConnectError(`the window of the anomaly at seq ${a.seq} is not stored (yet: it is written ${ANOMALY_WINDOW_AFTER} readings after the anomaly; or it was flat)`, Code.FailedPrecondition);
    }
  } else {
    const values = (await d.readModel.values(anchor.deviceId, anchor.metric, anchor.windowFromMs, anchor.windowToMs, 4096, signal)).values;
    vector = windowFeatures(values);
    if (vector === null) throw new ConnectError(`the window has no shape to match (flat, or fewer than 8 readings: ${values.length})`, Code.FailedPrecondition);
  }
  const hits = await d.vectors.search("anomaly_windows", vector, k + 1, { kinds: ["anomaly_window"], ...(otherDevicesOnly ? { excludeDeviceId: anchor.deviceId } : {}) });
  const chosen = hits.filter((h) => h.id !== selfId).slice(0, k);
  const explained = await d.readModel.explanations(
    chosen.map((h) => ({ deviceId: h.deviceId, epoch: h.epoch, seq: h.seq, tsMs: h.tsMs, metric: h.metric })),
    signal,
  );
  const keyOf = (a: { deviceId: string; epoch: number; seq: number; tsMs: number; metric: string }) => `${a.deviceId}/${a.epoch}/${a.seq}/${a.tsMs}/${a.metric}`;
  const summaryOf = new Map(explained.map((a) => [keyOf(a), a.summary]));
  return chosen.map((h) => ({
    deviceId: h.deviceId,
    metric: h.metric,
    tsMs: h.tsMs,
    epoch: h.epoch,
    seq: h.seq,
    score: h.score,
    distance: h.distance,
    summary: summaryOf.get(keyOf(h)) ?? "",
  }));
}
