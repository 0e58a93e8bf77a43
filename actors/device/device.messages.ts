import type { Reading } from "../../src/ports/reading.js";
import type { DetectorParams } from "../detector/index.js";
import type { ExplainRequest, ExplainResult } from "../../src/ports/gateway.js";

/** A validated reading from the journal. `streamSeq` is its JetStream stream sequence. */
export interface ReadingMsg {
  readonly type: "reading";
  readonly reading: Reading;
  readonly streamSeq: number;
}

/** The heartbeat timer fired: no reading for `heartbeatTimeoutMs`. */
export interface HeartbeatTimeoutMsg {
  readonly type: "heartbeat-timeout";
}

/** Live configuration change (hot reload); applies to the actor's logic settings. */
export interface ConfigMsg {
  readonly type: "config";
  readonly settings: Partial<DeviceSettings>;
  readonly version: string;
}

/** The model gateway answered an Explain call made for an anomaly (the reply arrives as a message). */
export interface ExplanationMsg {
  readonly type: "explanation";
  readonly seq: number;
  readonly tsMs: number;
  readonly metric: string;
  readonly score: number;
  readonly result: ExplainResult;
}

/** The Explain call failed (invalid request); the anomaly stays reported without an explanation. */
export interface ExplanationFailedMsg {
  readonly type: "explanation-failed";
  readonly seq: number;
  readonly metric: string;
  readonly error: string;
}

export type DeviceMsg = ReadingMsg | HeartbeatTimeoutMsg | ConfigMsg | ExplanationMsg | ExplanationFailedMsg;

/** Settings of device actors (from config `detector` and `runtime`). */
export interface DeviceSettings {
  /** Score in [0,1] at or above which an analysis event is emitted. Default 0.9. */
  threshold: number;
  /** Silence after which the device is reported offline, in ms. Default 300000 (5 min). */
  heartbeatTimeoutMs: number;
  /** Samples kept per metric for rolling statistics. Default 64. */
  windowSize: number;
  /** Most out-of-order gaps remembered below the high-water mark. Default 1024. */
  maxGaps: number;
  /** Ask the model gateway to explain each anomaly (the reply arrives later as a message). Default true. */
  explainAnomalies: boolean;
  /** Parameters of the streaming detector (actors/detector) for metrics first seen from now on. */
  detectorParams: Partial<DetectorParams>;
}

export const defaultDeviceSettings: DeviceSettings = {
  threshold: 0.9,
  heartbeatTimeoutMs: 300_000,
  windowSize: 64,
  maxGaps: 1024,
  explainAnomalies: true,
  detectorParams: {},
};

/** Event emitted on shoal.analysis.<deviceId> when a reading scores at or above the threshold. */
export interface AnalysisEvent {
  readonly kind: "anomaly";
  readonly deviceId: string;
  readonly seq: number;
  readonly tsMs: number;
  readonly score: number;
  readonly metric: string;
  readonly value: number;
}

/** Event emitted on shoal.analysis.<deviceId> when the gateway explained an anomaly. */
export interface ExplanationEvent {
  readonly kind: "explanation";
  readonly deviceId: string;
  readonly seq: number;
  readonly metric: string;
  readonly score: number;
  readonly summary: string;
  readonly likelyCause: string;
  readonly suggestedAction: string;
  readonly provider: string;
  readonly model: string;
  readonly promptVersion: string;
  readonly cached: boolean;
  readonly degraded: boolean;
}

/** What the device actor sends to the gateway's Explain. */
export type DeviceExplainRequest = ExplainRequest;

/** Event emitted on shoal.events.device.<deviceId> when a device goes offline or comes back. */
export interface DeviceLifecycleEvent {
  readonly kind: "offline" | "online";
  readonly deviceId: string;
  readonly atMs: number;
  readonly lastSeq: number;
}
