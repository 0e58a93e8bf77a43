import type { ActorContext, ActorLogic } from "../../src/ports/actor.js";
import type { Reading } from "../../src/ports/reading.js";
import { analysisSubject, deviceEventSubject } from "../../src/domain/subjects.js";
import { ANALYSES_SCHEMA, ANALYSES_TABLE, ANOMALY_WINDOWS_SCHEMA, ANOMALY_WINDOWS_TABLE, DEAD_LETTERS_TABLE, DEVICE_EVENTS_SCHEMA, DEVICE_EVENTS_TABLE, READINGS_SCHEMA, READINGS_TABLE } from "../../src/domain/tables.js";
import { normaliseText, shapeCode } from "../../src/domain/pattern-shape.js";
import { ANOMALY_WINDOW_AFTER, windowFeatures } from "../../src/domain/window-features.js";
import { resolveDetectorParams, S_N } from "../../src/detector/index.js";
import type { DetectorParams } from "../../src/detector/index.js";
import type {
  AnalysisEvent,
  CacheGetRequest,
  CacheGetResult,
  CacheSetRequest,
  CacheSetResult,
  DeviceExplainRequest,
  DeviceLifecycleEvent,
  DeviceMsg,
  DeviceSettings,
} from "./device.messages.js";
import { CACHE_SERVICE, defaultDeviceSettings } from "./device.messages.js";
import { acceptReading, placed, Verdict } from "./sequence-tracker.js";
import { createSeqPolicies, type SeqPolicies } from "./seq-policy.js";
import { newReadingCounters, type ReadingCounters } from "./reading-counters.js";
import { createModelTable, MAX_PENDING_WINDOWS, newDeviceState, pushPending, PW, PW_EPOCH, PW_LEFT, PW_METRIC, PW_SCORE, PW_SEQ, PW_TS } from "./device-state.js";
import type { DeviceState } from "./device-state.js";
import { MetricArena } from "./metric-arena.js";
import { addMetric, detectMetric, ringCaps, H_DET, H_MODEL, MH, recentValues, rollingScoreAndAdd } from "./metric-store.js";
import { decodeDeviceState, encodeDeviceState } from "./device-snapshot.js";
import { asExplainResult, callExplain, emitExplanation } from "./explanations.js";

export type { DeviceState } from "./device-state.js";

export { READINGS_TABLE, ANALYSES_TABLE } from "../../src/domain/tables.js";
export { GATEWAY } from "./explanations.js";
/** Resolution of the pattern signature used as the cache key (the gateway's default). */
const SIGNATURE = { segments: 8, levels: 3 } as const;
/** The heartbeat timer's message: one shared object instead of one per reading (and per actor). */
const HEARTBEAT: DeviceMsg = Object.freeze({ type: "heartbeat-timeout" as const });

/**
 * Device actor logic: exactly-once application of readings by device sequence number, per-metric
 * rolling statistics and anomaly score, a row per reading, analysis events above the threshold, the
 * shape of each anomaly's window (an `anomaly_windows` row once `ANOMALY_WINDOW_AFTER` readings of
 * its metric came after it: the window around the anomaly, src/domain/window-features.ts), and a
 * heartbeat timer that reports the device offline after a silence.
 * `settings` is shared by all actors of this logic instance and updated by `config` messages; so
 * are the detector models (parameters + scratch) the metrics refer to (docs/adr/0008).
 */
export function createDeviceActor(
  initialSettings: Partial<DeviceSettings> = {},
): ActorLogic<DeviceState, DeviceMsg> & { readonly settings: DeviceSettings; readonly arena: MetricArena; readonly counters: () => ReadingCounters } {
  const settings: DeviceSettings = { ...defaultDeviceSettings, ...checkDeviceSettings(initialSettings) };
  // What became of every reading this logic instance saw (per worker; exported as metrics).
  const counts = newReadingCounters();
  let policies: SeqPolicies = createSeqPolicies(settings);
  const table = createModelTable();
  // Where every actor's metric block lives (one arena per logic instance, i.e. per worker thread).
  const arena = new MetricArena();
  // Model of `settings.detectorParams`, resolved once per settings object (config messages replace it).
  let modelFor: Partial<DetectorParams> | undefined;
  let modelIndex = -1;
  function currentModel(): number {
    if (settings.detectorParams !== modelFor) {
      modelIndex = table.intern(resolveDetectorParams(settings.detectorParams));
      modelFor = settings.detectorParams;
    }
    return modelIndex;
  }

  function onReading(state: DeviceState, r: Reading, streamSeq: number, ctx: ActorContext<DeviceMsg>): DeviceState {
    const prevHwm = state.hwm;
    const verdict = acceptReading(state, r.seq, r.boot, r.tsMs, policies.of(state.id));
    if (verdict !== Verdict.New) {
      notApplied(state, r, verdict, ctx);
      return state;
    }
    const epoch = placed.epoch;
    const seq = placed.seq;
    if (placed.restarted !== "") restarted(state, r, prevHwm, ctx);
    const names = Object.keys(r.metrics);
    const values: number[] = new Array(names.length);
    const scores: number[] = new Array(names.length);
    let best = 0;
    let bestIdx = 0;
    let bestMetric = 0;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const v = r.metrics[name]!;
      let m = state.names.indexOf(name);
      if (m < 0) {
        const model = currentModel();
        // Young rings (16 steps): no re-layout before the 68th reading, then one to full size.
        const caps = ringCaps(table.models[model]!, 0, 0);
        m = addMetric(state, arena, model, settings.windowSize, caps.h, caps.d);
        // A shared list (push would reserve room for 17 names in every actor).
        state.names = table.withName(state.names, name);
      }
      const s = metricScore(state, m, v, r.tsMs);
      values[i] = v;
      scores[i] = s;
      if (s > best) {
        best = s;
        bestIdx = i;
        bestMetric = m;
      }
    }
    state.applied++;
    counts.applied++;
    state.lastStreamSeq = Math.max(state.lastStreamSeq, streamSeq);
    ctx.write(READINGS_TABLE, {
      device_id: r.deviceId,
      epoch,
      seq,
      ts_ms: r.tsMs,
      metric_names: names,
      metric_values: values,
      metric_scores: scores,
      score: best,
      log: r.log ?? "",
      stream_seq: streamSeq,
    });
    // This reading counts for the anomaly windows waiting for readings of its metrics (not for its own).
    if (state.pending !== undefined) countPending(state, r.metrics, ctx);
    if (best >= settings.threshold) {
      const metric = names[bestIdx]!;
      // Found in a reading older than historicalAfterMs (a store-and-forward backlog): marked so.
      const historical = ctx.now() - r.tsMs > settings.historicalAfterMs;
      if (historical) counts.historicalAnomalies++;
      const ev: AnalysisEvent = { kind: "anomaly", deviceId: r.deviceId, epoch, seq, tsMs: r.tsMs, score: best, metric, value: values[bestIdx]!, historical };
      ctx.emit(analysisSubject(r.deviceId), ev);
      // The window's shape, for similar-incident search, is taken once the readings after it came.
      openWindow(state, epoch, seq, r.tsMs, bestMetric, best, ctx);
      if (settings.explainAnomalies) {
        // Asynchronous: the actor keeps processing readings; the answer arrives as a message.
        const window = { deviceId: r.deviceId, metric, values: recentValues(state, bestMetric) };
        const req: DeviceExplainRequest = {
          window,
          score: best,
          context: { seq: String(seq), value: String(values[bestIdx]), ...(r.log ? { log: r.log } : {}) },
        };
        const at = { epoch, seq, tsMs: r.tsMs, metric, score: best };
        if (settings.explainCache) {
          // The actor's own cache first (same shape seen before → same explanation); the gateway on a miss.
          const key = `${normaliseText(metric)}|${shapeCode(window.values, SIGNATURE)}`;
          ctx.call<CacheGetRequest, CacheGetResult>(
            CACHE_SERVICE,
            "get",
            { key },
            (res) => ({ type: "explain-cache-reply", ...at, key, request: req, cached: asExplainResult(res?.value) }),
            () => ({ type: "explain-cache-reply", ...at, key, request: req, cached: null }),
          );
        } else {
          callExplain(ctx, at, req, undefined);
        }
      }
    }
    if (!state.online) {
      state.online = true;
      lifecycle(state, ctx, "online", "");
    }
    state.lastSeenS = Math.floor(ctx.now() / 1000);
    ctx.setTimer("heartbeat", settings.heartbeatTimeoutMs, HEARTBEAT);
    return state;
  }

  /** Counts a reading that is not applied; what it carried is dead-lettered unless it is a plain duplicate. */
  function notApplied(state: DeviceState, r: Reading, v: Verdict, ctx: ActorContext<DeviceMsg>): void {
    if (v === Verdict.Duplicate) {
      state.duplicates++;
      counts.duplicate++;
      return;
    }
    const code = DROP_CODES[v]!;
    counts[code]++;
    const reason =
      v === Verdict.OutOfRange
        ? `seq ${r.seq} jumps ${r.seq - state.hwm} past the high-water mark ${state.hwm} (limit ${settings.maxSeqJump}; taken once ${settings.jumpConfirmations} later readings continue from it)`
        : v === Verdict.ConflictingDuplicate
          ? `seq ${r.seq} of epoch ${state.epoch} was applied with timestamp ${state.hwmTsMs}; this one has ${r.tsMs} (the first is kept)`
          : v === Verdict.StaleEpoch
            ? `boot ${r.boot} is neither the current (${state.boot}) nor the previous epoch's, and older than the current epoch`
            : `seq ${r.seq} is below the reorder window (${settings.maxGaps} below ${state.hwm}) after gaps were forgotten: a duplicate or too late to check`;
    ctx.write(DEAD_LETTERS_TABLE, { stage: "runtime", code, reason, source: `device/${r.deviceId}`, payload: JSON.stringify(r), at_ms: ctx.now() });
  }

  /** A new epoch began with this reading: an event, published and stored. */
  function restarted(state: DeviceState, r: Reading, prevHwm: number, ctx: ActorContext<DeviceMsg>): void {
    const cause = placed.restarted;
    if (cause === "boot") counts.epochsFromBoot++;
    else counts.epochsInferred++;
    lifecycle(state, ctx, "restarted", `${cause === "boot" ? `boot ${r.boot}` : "inferred"}: seq ${r.seq} at ${r.tsMs} after seq ${prevHwm} of epoch ${state.epoch - 1}`);
  }

  /**
   * Score of metric i for one value: the streaming detector's (docs/adr/0003) once it is past its
   * warm-up; before that, the rolling z-score of clear outliers only (so a wild value in a new
   * device's first readings is still flagged, ordinary noise is not).
   */
  function metricScore(state: DeviceState, i: number, v: number, tsMs: number): number {
    const z = rollingScoreAndAdd(state, i, v);
    const model = table.models[state.f64[state.base + i * MH + H_MODEL]!]!;
    const d = detectMetric(state, arena, i, model, v, tsMs); // may move the block: read state.f64/base afterwards
    if (state.f64[state.base + i * MH + H_DET + S_N]! > model.params.warmup) return d;
    // Warm-up: only clear outliers (|z| ≥ 3.9σ) count, so a new device is not flagged 10% of the time.
    return z >= 0.9999 ? z : 0;
  }

  return {
    type: "device",
    settings,
    configure(next) {
      // Validate everything first: an invalid change throws and changes nothing.
      const checked = checkDeviceSettings(next as Partial<DeviceSettings>);
      const nextPolicies = createSeqPolicies({ ...settings, ...checked });
      Object.assign(settings, checked);
      policies = nextPolicies;
    },
    counters: () => counts,
    initial: (id) => newDeviceState(id),
    receive(state, msg, ctx) {
      switch (msg.type) {
        case "reading":
          return onReading(state, msg.reading, msg.streamSeq, ctx);
        case "readings":
          for (const r of msg.readings) onReading(state, r, msg.streamSeq, ctx);
          return state;
        case "heartbeat-timeout": {
          // A timer restored after a crash can be older than the last reading of the restored
          // state (kept before it): wait out the rest (lastSeenS is floored: at most 1 s early).
          const silentMs = ctx.now() - state.lastSeenS * 1000;
          if (state.online && silentMs < settings.heartbeatTimeoutMs - 1000) {
            ctx.setTimer("heartbeat", settings.heartbeatTimeoutMs - silentMs, HEARTBEAT);
            return state;
          }
          if (state.online) {
            state.online = false;
            // No more readings to wait for: the open anomaly windows take what they have.
            if (state.pending !== undefined) completeAll(state, ctx);
            lifecycle(state, ctx, "offline", "");
          }
          return state;
        }
        case "explain-cache-reply": {
          const at = { epoch: msg.epoch, seq: msg.seq, tsMs: msg.tsMs, metric: msg.metric, score: msg.score };
          if (msg.cached === null) callExplain(ctx, at, msg.request, msg.key);
          else emitExplanation(state, ctx, at, msg.cached, true);
          return state;
        }
        case "explanation": {
          emitExplanation(state, ctx, msg, msg.result, false);
          if (msg.cacheKey !== undefined) {
            ctx.call<CacheSetRequest, CacheSetResult>(
              CACHE_SERVICE,
              "set",
              { key: msg.cacheKey, value: msg.result },
              (res) => ({ type: "cache-stored", ok: res?.stored === true }),
              () => ({ type: "cache-stored", ok: false }),
            );
          }
          return state;
        }
        case "explanation-failed":
        case "cache-stored":
          return state;
        case "config":
          // The logic's settings were changed by `configure` (every worker, active actors or not);
          // an active actor only re-arms its heartbeat under the new timeout.
          if (state.online) ctx.setTimer("heartbeat", settings.heartbeatTimeoutMs, HEARTBEAT);
          return state;
      }
    },
    lastSeq: (state) => state.hwm,
    snapshot: (state) => encodeDeviceState(state, table),
    restore: (bytes, id) => decodeDeviceState(bytes, id, settings.windowSize, table, arena),
    dispose: (state) => arena.release(state),
    rowSchemas: { [READINGS_TABLE]: READINGS_SCHEMA, [ANALYSES_TABLE]: ANALYSES_SCHEMA, [DEVICE_EVENTS_TABLE]: DEVICE_EVENTS_SCHEMA, [ANOMALY_WINDOWS_TABLE]: ANOMALY_WINDOWS_SCHEMA },
    arena,
  };
}

/**
 * `s` checked field by field (RangeError naming the setting and its rule); the detector parameters
 * are resolved to check them. Returns `s` unchanged.
 */
export function checkDeviceSettings(s: Partial<DeviceSettings>): Partial<DeviceSettings> {
  const fail = (key: string, rule: string, v: unknown) => {
    throw new RangeError(`device settings: ${key} ${rule}, got ${JSON.stringify(v)}`);
  };
  if (s.threshold !== undefined && !(s.threshold >= 0 && s.threshold <= 1)) fail("threshold", "must be between 0 and 1", s.threshold);
  if (s.heartbeatTimeoutMs !== undefined && !(Number.isSafeInteger(s.heartbeatTimeoutMs) && s.heartbeatTimeoutMs >= 1)) fail("heartbeatTimeoutMs", "must be an integer >= 1", s.heartbeatTimeoutMs);
  if (s.windowSize !== undefined && !(Number.isSafeInteger(s.windowSize) && s.windowSize >= 1)) fail("windowSize", "must be an integer >= 1", s.windowSize);
  if (s.maxGaps !== undefined && !(Number.isSafeInteger(s.maxGaps) && s.maxGaps >= 0)) fail("maxGaps", "must be an integer >= 0", s.maxGaps);
  if (s.maxSeqJump !== undefined && !(Number.isSafeInteger(s.maxSeqJump) && s.maxSeqJump >= 1)) fail("maxSeqJump", "must be an integer >= 1", s.maxSeqJump);
  if (s.jumpConfirmations !== undefined && !(Number.isSafeInteger(s.jumpConfirmations) && s.jumpConfirmations >= 0)) fail("jumpConfirmations", "must be an integer >= 0", s.jumpConfirmations);
  if (s.historicalAfterMs !== undefined && !(Number.isSafeInteger(s.historicalAfterMs) && s.historicalAfterMs >= 0)) fail("historicalAfterMs", "must be an integer >= 0", s.historicalAfterMs);
  if (s.seqWrap !== undefined) createSeqPolicies({ ...defaultDeviceSettings, seqWrap: s.seqWrap }); // throws on a bad rule
  if (s.detectorParams !== undefined) resolveDetectorParams(s.detectorParams);
  return s;
}

/** Dead-letter code of each verdict that drops a reading with content (plain duplicates are only counted). */
const DROP_CODES: Partial<Record<Verdict, "conflicting_duplicate" | "seq_out_of_range" | "stale_epoch" | "too_late">> = {
  [Verdict.ConflictingDuplicate]: "conflicting_duplicate",
  [Verdict.OutOfRange]: "seq_out_of_range",
  [Verdict.StaleEpoch]: "stale_epoch",
  [Verdict.TooLate]: "too_late",
};

/**
 * Holds an anomaly's window open until `ANOMALY_WINDOW_AFTER` readings of its metric came after it
 * (src/domain/window-features.ts). A device holds at most `MAX_PENDING_WINDOWS`: beyond, the oldest
 * is completed at once with the readings there are.
 */
function openWindow(state: DeviceState, epoch: number, seq: number, tsMs: number, metric: number, score: number, ctx: ActorContext<DeviceMsg>): void {
  const p = state.pending;
  if (p !== undefined && p.length >= MAX_PENDING_WINDOWS * PW) {
    writeWindow(state, p, 0, ctx);
    p.splice(0, PW);
  }
  pushPending(state, epoch, seq, tsMs, metric, score, ANOMALY_WINDOW_AFTER);
}

/** An applied reading carrying `metrics`: counts for the open windows of those metrics; writes the complete ones. */
function countPending(state: DeviceState, metrics: Readonly<Record<string, number>>, ctx: ActorContext<DeviceMsg>): void {
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
function completeAll(state: DeviceState, ctx: ActorContext<DeviceMsg>): void {
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

/** A lifecycle event of the device (online, offline, restarted): published and stored. */
function lifecycle(state: DeviceState, ctx: ActorContext<DeviceMsg>, kind: DeviceLifecycleEvent["kind"], detail: string): void {
  const atMs = ctx.now();
  const ev: DeviceLifecycleEvent = { kind, deviceId: state.id, atMs, epoch: state.epoch, lastSeq: state.hwm, ...(detail ? { detail } : {}) };
  ctx.emit(deviceEventSubject(state.id), ev);
  ctx.write(DEVICE_EVENTS_TABLE, { device_id: state.id, kind, epoch: state.epoch, at_ms: atMs, last_seq: state.hwm, detail });
}

/** The device actor with default settings. */
export const deviceActor = createDeviceActor();
