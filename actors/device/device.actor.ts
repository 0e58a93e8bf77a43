import type { ActorContext, ActorLogic } from "../../src/ports/actor.js";
import type { Reading } from "../../src/ports/reading.js";
import { analysisSubject, deviceEventSubject } from "../../src/domain/subjects.js";
import type { AnalysisEvent, DeviceExplainRequest, DeviceLifecycleEvent, DeviceMsg, DeviceSettings, ExplanationEvent } from "./device.messages.js";
import type { ExplainResult } from "../../src/ports/gateway.js";
import { defaultDeviceSettings } from "./device.messages.js";
import { acceptSeq, newSeqState, type SeqState } from "./sequence-tracker.js";
import { newRollingStats, rollingFromData, rollingToData, scoreAndAdd, type RollingStats, type RollingStatsData } from "./rolling-stats.js";
import { createDetector, restoreDetector, type Detector } from "../detector/index.js";

/** Per-metric state: the streaming detector plus a rolling window (recent values and statistics). */
export interface MetricState {
  readonly stats: RollingStats;
  readonly detector: Detector;
}

/** State of one device actor. */
export interface DeviceState {
  readonly id: string;
  readonly seq: SeqState;
  /** Readings applied (duplicates excluded). */
  applied: number;
  /** Duplicates skipped (redeliveries, replays). */
  duplicates: number;
  lastTsMs: number;
  /** Stream sequence of the last applied journal message (snapshot + replay point). */
  lastStreamSeq: number;
  online: boolean;
  readonly metrics: Map<string, MetricState>;
}

/** Table the device actor writes readings to. */
export const READINGS_TABLE = "readings";
/** Table of anomaly explanations from the model gateway. */
export const ANALYSES_TABLE = "analyses";
/** Service name of the model gateway for ctx.call. */
export const GATEWAY = "gateway";

/**
 * Device actor logic: exactly-once application of readings by device sequence number, per-metric
 * rolling statistics and anomaly score, a row per reading, analysis events above the threshold, and
 * a heartbeat timer that reports the device offline after a silence.
 * `settings` is shared by all actors of this logic instance and updated by `config` messages.
 */
export function createDeviceActor(initialSettings: Partial<DeviceSettings> = {}): ActorLogic<DeviceState, DeviceMsg> & { readonly settings: DeviceSettings } {
  const settings: DeviceSettings = { ...defaultDeviceSettings, ...initialSettings };

  function onReading(state: DeviceState, r: Reading, streamSeq: number, ctx: ActorContext<DeviceMsg>): DeviceState {
    if (acceptSeq(state.seq, r.seq, settings.maxGaps) === "duplicate") {
      state.duplicates++;
      return state;
    }
    const names = Object.keys(r.metrics);
    const values: number[] = new Array(names.length);
    const scores: number[] = new Array(names.length);
    let best = 0;
    let bestIdx = 0;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const v = r.metrics[name]!;
      let m = state.metrics.get(name);
      if (m === undefined) {
        m = { stats: newRollingStats(settings.windowSize), detector: createDetector(settings.detectorParams) };
        state.metrics.set(name, m);
      }
      const s = metricScore(m, v, r.tsMs);
      values[i] = v;
      scores[i] = s;
      if (s > best) {
        best = s;
        bestIdx = i;
      }
    }
    state.applied++;
    state.lastTsMs = Math.max(state.lastTsMs, r.tsMs);
    state.lastStreamSeq = Math.max(state.lastStreamSeq, streamSeq);
    ctx.write(READINGS_TABLE, {
      device_id: r.deviceId,
      seq: r.seq,
      ts_ms: r.tsMs,
      metric_names: names,
      metric_values: values,
      metric_scores: scores,
      score: best,
      log: r.log ?? "",
      stream_seq: streamSeq,
    });
    if (best >= settings.threshold) {
      const metric = names[bestIdx]!;
      const ev: AnalysisEvent = { kind: "anomaly", deviceId: r.deviceId, seq: r.seq, tsMs: r.tsMs, score: best, metric, value: values[bestIdx]! };
      ctx.emit(analysisSubject(r.deviceId), ev);
      if (settings.explainAnomalies) {
        // Asynchronous: the actor keeps processing readings; the answer arrives as a message.
        const req: DeviceExplainRequest = {
          window: { deviceId: r.deviceId, metric, values: recentValues(state.metrics.get(metric)!.stats) },
          score: best,
          context: { seq: String(r.seq), value: String(values[bestIdx]), ...(r.log ? { log: r.log } : {}) },
        };
        const seq = r.seq;
        const tsMs = r.tsMs;
        ctx.call<DeviceExplainRequest, ExplainResult>(
          GATEWAY,
          "explain",
          req,
          (result) => ({ type: "explanation", seq, tsMs, metric, score: best, result }),
          (err) => ({ type: "explanation-failed", seq, metric, error: err.message }),
        );
      }
    }
    if (!state.online) {
      state.online = true;
      const ev: DeviceLifecycleEvent = { kind: "online", deviceId: state.id, atMs: ctx.now(), lastSeq: state.seq.hwm };
      ctx.emit(deviceEventSubject(state.id), ev);
    }
    ctx.setTimer("heartbeat", settings.heartbeatTimeoutMs, { type: "heartbeat-timeout" });
    return state;
  }

  return {
    type: "device",
    settings,
    initial: (id) => ({ id, seq: newSeqState(), applied: 0, duplicates: 0, lastTsMs: 0, lastStreamSeq: 0, online: false, metrics: new Map() }),
    receive(state, msg, ctx) {
      switch (msg.type) {
        case "reading":
          return onReading(state, msg.reading, msg.streamSeq, ctx);
        case "heartbeat-timeout": {
          if (state.online) {
            state.online = false;
            const ev: DeviceLifecycleEvent = { kind: "offline", deviceId: state.id, atMs: ctx.now(), lastSeq: state.seq.hwm };
            ctx.emit(deviceEventSubject(state.id), ev);
          }
          return state;
        }
        case "explanation": {
          const x = msg.result;
          const ev: ExplanationEvent = {
            kind: "explanation",
            deviceId: state.id,
            seq: msg.seq,
            metric: msg.metric,
            score: msg.score,
            summary: x.summary,
            likelyCause: x.likelyCause,
            suggestedAction: x.suggestedAction,
            provider: x.model.provider,
            model: x.model.model,
            promptVersion: x.model.promptVersion,
            cached: x.model.cached,
            degraded: x.model.degraded,
          };
          ctx.emit(analysisSubject(state.id), ev);
          ctx.write(ANALYSES_TABLE, {
            device_id: state.id,
            seq: msg.seq,
            ts_ms: msg.tsMs,
            metric: msg.metric,
            score: msg.score,
            summary: x.summary,
            likely_cause: x.likelyCause,
            suggested_action: x.suggestedAction,
            provider: x.model.provider,
            model: x.model.model,
            prompt_version: x.model.promptVersion,
            cached: x.model.cached ? 1 : 0,
            degraded: x.model.degraded ? 1 : 0,
            cost_usd: x.model.costUsd,
          });
          return state;
        }
        case "explanation-failed":
          return state;
        case "config":
          Object.assign(settings, msg.settings);
          if (state.online) ctx.setTimer("heartbeat", settings.heartbeatTimeoutMs, { type: "heartbeat-timeout" });
          return state;
      }
    },
    lastSeq: (state) => state.seq.hwm,
    snapshot: (state) => encodeState(state),
    restore: (bytes, id) => decodeState(bytes, id, settings.windowSize),
  };
}

/** The metric's recent values, oldest first (the window sent to the gateway). */
function recentValues(s: RollingStats): number[] {
  const out: number[] = [];
  const size = s.window.length;
  const start = s.n === size ? s.pos : 0;
  for (let i = 0; i < s.n; i++) out.push(s.window[(start + i) % size]!);
  return out;
}

/**
 * Score of one value: the streaming detector's (docs/adr/0003) once it is past its warm-up; before
 * that, the rolling z-score of clear outliers only (so a wild value in a new device's first readings
 * is still flagged, ordinary noise is not).
 */
function metricScore(m: MetricState, v: number, tsMs: number): number {
  const z = scoreAndAdd(m.stats, v);
  const d = m.detector.update(v, tsMs);
  if (m.detector.count > m.detector.params.warmup) return d;
  // Warm-up: only clear outliers (|z| ≥ 3.9σ) count, so a new device is not flagged 10% of the time.
  return z >= 0.9999 ? z : 0;
}

interface StateData {
  v: 1;
  hwm: number;
  gaps: number[] | null;
  gf: number;
  applied: number;
  dup: number;
  lastTsMs: number;
  lss: number;
  online: boolean;
  m: Record<string, { r: RollingStatsData; d: string }>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function encodeState(s: DeviceState): Uint8Array {
  const m: StateData["m"] = {};
  for (const [k, v] of s.metrics) m[k] = { r: rollingToData(v.stats), d: bytesToBase64(v.detector.saveState()) };
  const d: StateData = { v: 1, hwm: s.seq.hwm, gaps: s.seq.gaps, gf: s.seq.gapsForgotten, applied: s.applied, dup: s.duplicates, lastTsMs: s.lastTsMs, lss: s.lastStreamSeq, online: s.online, m };
  return enc.encode(JSON.stringify(d));
}

function decodeState(bytes: Uint8Array, id: string, windowSize: number): DeviceState {
  const d = JSON.parse(dec.decode(bytes)) as StateData;
  if (d.v !== 1) throw new Error(`device snapshot of ${id}: unsupported version ${String(d.v)}`);
  const metrics = new Map<string, MetricState>();
  for (const [k, v] of Object.entries(d.m)) metrics.set(k, { stats: rollingFromData(v.r, windowSize), detector: restoreDetector(base64ToBytes(v.d)) });
  return {
    id,
    seq: { hwm: d.hwm, gaps: d.gaps, gapsForgotten: d.gf },
    applied: d.applied,
    duplicates: d.dup,
    lastTsMs: d.lastTsMs,
    lastStreamSeq: d.lss,
    online: d.online,
    metrics,
  };
}

function bytesToBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]!);
  return btoa(bin);
}

function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The device actor with default settings. */
export const deviceActor = createDeviceActor();
