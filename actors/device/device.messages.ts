import type { Reading } from "../../src/ports/reading.js";
import type { DetectorParams, JointParams } from "../../src/detector/index.js";
import type { ExplainRequest, ExplainResult } from "../../src/ports/gateway.js";
import type { AlertCommand, AlertRule } from "../../src/domain/alerts.js";
import type { AnomalyReason } from "../../src/domain/anomaly-reasons.js";

/** A validated reading from the journal. `streamSeq` is its JetStream stream sequence. */
export interface ReadingMsg {
  readonly type: "reading";
  readonly reading: Reading;
  readonly streamSeq: number;
  /** The reading's trace context when it is traced (src/ports/actor.ts TracedMessage). */
  readonly trace?: string;
}

/** Several readings of the device from one journal message (a batch), in journal order. */
export interface ReadingsMsg {
  readonly type: "readings";
  readonly readings: readonly Reading[];
  readonly streamSeq: number;
  /** The first traced reading's trace context (src/ports/actor.ts TracedMessage). */
  readonly trace?: string;
}

/** The heartbeat timer fired: no reading for `heartbeatTimeoutMs`. */
export interface HeartbeatTimeoutMsg {
  readonly type: "heartbeat-timeout";
}

/**
 * Live configuration change (hot reload), after the logic's `configure` applied `settings` on the
 * actor's worker: the actor re-arms its heartbeat under the new timeout.
 */
export interface ConfigMsg {
  readonly type: "config";
  readonly settings: Partial<DeviceSettings>;
  readonly version: string;
}

/** The model gateway answered an Explain call made for an anomaly (the reply arrives as a message). */
export interface ExplanationMsg {
  readonly type: "explanation";
  readonly epoch: number;
  readonly seq: number;
  readonly tsMs: number;
  readonly metric: string;
  readonly score: number;
  /** Why the anomaly fired (src/domain/anomaly-reasons.ts). */
  readonly reasons: readonly AnomalyReason[];
  readonly result: ExplainResult;
  /** When set, the actor stores `result` in its cache under this pattern signature. */
  readonly cacheKey?: string;
}

/**
 * The actor's cache (service "cache", method "get") answered the lookup made for an anomaly: a hit
 * carries the explanation stored earlier for the same pattern; a miss (or a cache error) makes the
 * actor ask the gateway with `request`.
 */
export interface ExplainCacheReplyMsg {
  readonly type: "explain-cache-reply";
  readonly epoch: number;
  readonly seq: number;
  readonly tsMs: number;
  readonly metric: string;
  readonly score: number;
  /** Why the anomaly fired. */
  readonly reasons: readonly AnomalyReason[];
  /** Pattern signature of the window (the cache key). */
  readonly key: string;
  readonly request: DeviceExplainRequest;
  /** The cached explanation, or null on a miss or a cache error. */
  readonly cached: ExplainResult | null;
}

/** The cache stored (or failed to store) an explanation; nothing to do. */
export interface CacheStoredMsg {
  readonly type: "cache-stored";
  readonly ok: boolean;
}

/** The Explain call failed (invalid request); the anomaly stays reported without an explanation. */
export interface ExplanationFailedMsg {
  readonly type: "explanation-failed";
  readonly seq: number;
  readonly metric: string;
  readonly error: string;
}

/** An operator's acknowledge/resolve of one of the device's alerts, from the journal (src/domain/journal-commands.ts). */
export type AlertCommandMsg = AlertCommand;

export type DeviceMsg = ReadingMsg | ReadingsMsg | HeartbeatTimeoutMsg | ConfigMsg | ExplanationMsg | ExplanationFailedMsg | ExplainCacheReplyMsg | CacheStoredMsg | AlertCommandMsg;

/** Devices whose id matches `match` (a glob: `*` any characters) count with a `bits`-wide wrapping counter. */
export interface SeqWrapRule {
  readonly match: string;
  readonly bits: 8 | 16 | 32;
}

/** Settings of device actors (from config `detector` and `runtime`). */
export interface DeviceSettings {
  /** Score in [0,1] at or above which an analysis event is emitted. Default 0.9. */
  threshold: number;
  /** Silence after which the device is reported offline, in ms. Default 300000 (5 min). */
  heartbeatTimeoutMs: number;
  /** Samples kept per metric for rolling statistics. Default 64. */
  windowSize: number;
  /** Most out-of-order gaps remembered below the high-water mark (the reorder window). Default 1024. */
  maxGaps: number;
  /** Largest forward seq jump taken without confirmation (docs/adr/0011-sequence-model.md). Default 10,000,000. */
  maxSeqJump: number;
  /** Later readings continuing from a jump beyond maxSeqJump that make it accepted. Default 2. */
  jumpConfirmations: number;
  /**
   * Wrapping counters: the first rule whose `match` (a glob on the device id: `*` any characters)
   * fits gives the counter width in bits (8: Sparkplug B, 16, 32). Default none: counters do not wrap.
   */
  seqWrap: readonly SeqWrapRule[];
  /** An anomaly in a reading older than this (a store-and-forward backlog) is marked historical. Default 120,000 ms. */
  historicalAfterMs: number;
  /** Ask the model gateway to explain each anomaly (the reply arrives later as a message). Default true. */
  explainAnomalies: boolean;
  /** Parameters of the streaming detector (src/detector) for metrics first seen from now on. */
  detectorParams: Partial<DetectorParams>;
  /**
   * Look explanations up in the actor's own cache (service "cache": get by pattern signature of the
   * window, set after a gateway answer) before asking the gateway. Default false: enable it where
   * the runtime routes the "cache" service (src/adapters/keyv/actor-cache-service.ts).
   */
  explainCache: boolean;
  /** Alert rules evaluated on every reading (actors/alert, docs/adr/0016-alerts.md). Default none. */
  alertRules: readonly AlertRule[];
  /**
   * Score devices with two or more metrics also by the device-level model (the relation between
   * their metrics, src/detector/joint.ts, docs/adr/0022). Default true.
   */
  jointModel: boolean;
  /** Parameters of the device-level model (defaults for the rest). */
  jointParams: Partial<JointParams>;
}

export const defaultDeviceSettings: DeviceSettings = {
  threshold: 0.9,
  heartbeatTimeoutMs: 300_000,
  windowSize: 64,
  maxGaps: 1024,
  maxSeqJump: 10_000_000,
  jumpConfirmations: 2,
  seqWrap: [],
  historicalAfterMs: 120_000,
  explainAnomalies: true,
  detectorParams: {},
  jointModel: true,
  jointParams: {},
  explainCache: false,
  alertRules: [],
};

/** Service name of the per-actor cache for ctx.call, and its requests/replies (src/ports/actor-cache.ts). */
export { ACTOR_CACHE_SERVICE as CACHE_SERVICE } from "../../src/ports/actor-cache.js";
export type {
  ActorCacheGet as CacheGetRequest,
  ActorCacheGetReply as CacheGetResult,
  ActorCacheSet as CacheSetRequest,
  ActorCacheSetReply as CacheSetResult,
} from "../../src/ports/actor-cache.js";

/** Event emitted on shoal.analysis.<deviceId> when a reading scores at or above the threshold. */
export interface AnalysisEvent {
  readonly kind: "anomaly";
  readonly deviceId: string;
  readonly epoch: number;
  readonly seq: number;
  readonly tsMs: number;
  readonly score: number;
  readonly metric: string;
  readonly value: number;
  /** The reading is older than historicalAfterMs (found in a store-and-forward backlog). */
  readonly historical: boolean;
  /**
   * Why it fired, strongest first (at most MAX_REASONS): each metric at or above the threshold
   * with the term that scored it, and the metrics that broke the device-level model's relation.
   */
  readonly reasons: readonly AnomalyReason[];
  /**
   * Set when the anomaly joined an open incident of the device (another metric's or the
   * device-level model's alarm a few readings after an earlier anomaly): the anomaly that opened it
   * (its time too: a counterless device's anomalies all have seq 0). Its explanation stands for the
   * incident; this one gets none (anomaly-window-state.ts, openIncident).
   */
  readonly partOf?: { readonly epoch: number; readonly seq: number; readonly tsMs: number };
}

/** Event emitted on shoal.analysis.<deviceId> when the gateway explained an anomaly. */
export interface ExplanationEvent {
  readonly kind: "explanation";
  readonly deviceId: string;
  readonly epoch: number;
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

/**
 * Event emitted on shoal.events.device.<deviceId> (and stored in `device_events`) when a device goes
 * offline, comes back, or restarted its counter (a new epoch: from its boot number or inferred).
 */
export interface DeviceLifecycleEvent {
  readonly kind: "offline" | "online" | "restarted";
  readonly deviceId: string;
  readonly atMs: number;
  /** The device's current epoch (the new one for `restarted`). */
  readonly epoch: number;
  /** High-water mark of the current epoch. */
  readonly lastSeq: number;
  /** For `restarted`: what started the epoch and where the old one ended. */
  readonly detail?: string;
}
