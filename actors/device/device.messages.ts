import type { Reading } from "../../src/ports/reading.js";
import type { DetectorParams } from "../detector/index.js";

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

export type DeviceMsg = ReadingMsg | HeartbeatTimeoutMsg | ConfigMsg;

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
  /** Parameters of the streaming detector (actors/detector) for metrics first seen from now on. */
  detectorParams: Partial<DetectorParams>;
}

export const defaultDeviceSettings: DeviceSettings = {
  threshold: 0.9,
  heartbeatTimeoutMs: 300_000,
  windowSize: 64,
  maxGaps: 1024,
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

/** Event emitted on shoal.events.device.<deviceId> when a device goes offline or comes back. */
export interface DeviceLifecycleEvent {
  readonly kind: "offline" | "online";
  readonly deviceId: string;
  readonly atMs: number;
  readonly lastSeq: number;
}
