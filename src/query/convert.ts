import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AnalysisRow, DeviceRow, SeriesPoint } from "../ports/read-model.js";
import type { AnalysisSchema, DeviceSummarySchema, ReadingPointSchema } from "../gen/shoal/v1/query_pb.js";

/** Read-model rows to QueryService messages. */

export function analysisOf(a: AnalysisRow): MessageInitShape<typeof AnalysisSchema> {
  return { ...a, epoch: BigInt(a.epoch), seq: BigInt(a.seq), tsMs: BigInt(a.tsMs), reasons: a.reasons.map((r) => ({ ...r })), incidentEpoch: BigInt(a.incidentEpoch), incidentSeq: BigInt(a.incidentSeq), incidentTsMs: BigInt(a.incidentTsMs) };
}

export function deviceOf(d: DeviceRow, nowMs: number, offlineAfterMs: number): MessageInitShape<typeof DeviceSummarySchema> {
  const reportedOffline = d.lastEvent === "offline" && d.lastEventMs >= d.lastSeenMs;
  return {
    deviceId: d.deviceId,
    firstSeenMs: BigInt(d.firstSeenMs),
    lastSeenMs: BigInt(d.lastSeenMs),
    online: !reportedOffline && nowMs - d.lastSeenMs <= offlineAfterMs,
    readings: BigInt(d.readings),
    epoch: BigInt(d.epoch),
    lastSeq: BigInt(d.lastSeq),
    anomalies: BigInt(d.anomalies),
    incidents: BigInt(d.incidents),
    lastEvent: d.lastEvent,
    lastEventMs: BigInt(d.lastEventMs),
  };
}

export function pointOf(p: SeriesPoint, raw: boolean): MessageInitShape<typeof ReadingPointSchema> {
  const mean = raw ? p.value : p.count > 0 ? p.value : 0;
  const variance = p.count > 1 ? Math.max(0, p.sumSq / p.count - mean * mean) : 0;
  return {
    tsMs: BigInt(p.tsMs),
    value: mean,
    min: p.min,
    max: p.max,
    count: BigInt(p.count),
    stddev: Math.sqrt(variance),
    score: p.score,
    epoch: BigInt(p.epoch),
    seq: BigInt(p.seq),
  };
}
