import type { ActorContext, ActorLogic } from "../../src/ports/actor.js";
import type { Reading } from "../../src/ports/reading.js";
import { analysisSubject, deviceEventSubject } from "../../src/domain/subjects.js";
import { ALERT_TRANSITIONS_SCHEMA, ALERT_TRANSITIONS_TABLE, ALERTS_SCHEMA, ALERTS_TABLE, ANALYSES_SCHEMA, ANALYSES_TABLE, ANOMALY_WINDOWS_SCHEMA, ANOMALY_WINDOWS_TABLE, DEAD_LETTERS_TABLE, DEVICE_EVENTS_SCHEMA, DEVICE_EVENTS_TABLE, READINGS_SCHEMA, READINGS_TABLE } from "../../src/domain/tables.js";
import { resolveDetectorParams, resolveJointParams, S_N } from "../../src/detector/index.js";
import type { DetectorParams, JointParams } from "../../src/detector/index.js";
import { feedJoint, newJointScratch } from "./joint-store.js";
import { reasonsOf } from "./reasons.js";
import type {
  AnalysisEvent,
  CacheSetRequest,
  CacheSetResult,
  DeviceLifecycleEvent,
  DeviceMsg,
  DeviceSettings,
} from "./device.messages.js";
import { CACHE_SERVICE, defaultDeviceSettings } from "./device.messages.js";
import { acceptReading, placed, Verdict } from "./sequence-tracker.js";
import { createSeqPolicies, type SeqPolicies } from "./seq-policy.js";
import { newReadingCounters, type ReadingCounters } from "./reading-counters.js";
import { createModelTable, newDeviceState } from "./device-state.js";
import type { DeviceState } from "./device-state.js";
import { MetricArena } from "./metric-arena.js";
import { addMetric, detectMetric, ringCaps, H_DET, H_MODEL, MH, recentValues, rollingZAndAdd } from "./metric-store.js";
import { decodeDeviceState, encodeDeviceState } from "./device-snapshot.js";
import { askExplanation, callExplain, emitExplanation, recordJoined } from "./explanations.js";
import { completeAll, countPending, openIncident, openWindow } from "./anomaly-window-state.js";
import { AlertEngine, alertRow, transitionRow } from "../alert/index.js";
import { checkDeviceSettings } from "./device-settings.js";
import type { AlertTransition } from "../../src/domain/alerts.js";

export type { DeviceState } from "./device-state.js";

export { READINGS_TABLE, ANALYSES_TABLE } from "../../src/domain/tables.js";
export { GATEWAY } from "./explanations.js";
/** |z| against the rolling window at which a reading scores 1 before the detector's warm-up ends. */
const WARMUP_Z = 6;
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
  // The device's alert rules (actors/alert), evaluated in its turns; transitions of a turn gather here.
  const alerts = new AlertEngine(settings.alertRules);
  const transitions: AlertTransition[] = [];
  /** Writes the turn's alert transitions: the history row and the alert's current state. */
  function writeTransitions(ctx: ActorContext<DeviceMsg>): void {
    for (const t of transitions) {
      ctx.write(ALERT_TRANSITIONS_TABLE, transitionRow(t));
      ctx.write(ALERTS_TABLE, alertRow(t));
    }
    counts.alertTransitions += transitions.length;
    transitions.length = 0;
  }
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
  // The device-level model's parameters, resolved once per settings object (all devices share them).
  let jointFor: Partial<JointParams> | undefined;
  let jointParams: JointParams | undefined;
  function currentJoint(): JointParams {
    if (settings.jointParams !== jointFor || jointParams === undefined) {
      jointParams = resolveJointParams(settings.jointParams);
      jointFor = settings.jointParams;
    }
    return jointParams;
  }
  const jointScratch = newJointScratch();
  /** State index of each metric of the reading being applied (grown on demand, shared). */
  let idx = new Int32Array(8);
  const modelOf = (state: DeviceState) => (m: number) => state.f64[state.base + m * MH + H_MODEL]!;

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
    const names = namesOf(r.metrics, state.names);
    if (idx.length < names.length) idx = new Int32Array(names.length * 2);
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
      idx[i] = m;
      values[i] = v;
      scores[i] = s;
      if (s > best) {
        best = s;
        bestIdx = i;
        bestMetric = m;
      }
    }
    // The device-level model: the relation between the metrics (devices with one metric skip it).
    const joint = state.names.length >= 2 && settings.jointModel ? feedJoint(state, currentJoint(), idx, values, names.length, jointScratch) : 0;
    const fromJoint = joint > best;
    if (fromJoint) {
      best = joint;
      // The anomaly's metric: the one the model holds most responsible.
      let top = -1;
      for (let i = 0; i < names.length; i++) {
        const c = jointScratch.contrib[idx[i]!]!;
        if (c > top) {
          top = c;
          bestIdx = i;
          bestMetric = idx[i]!;
        }
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
    // With no rules left, a device's open alerts still get their "rule removed" resolution.
    if (alerts.enabled || state.alerts !== undefined) {
      // Assigned only when it changes: a device that never had an alert holds no property.
      const st = alerts.onReading(state.alerts, r.deviceId, r.tsMs, names, values, scores, best, transitions);
      if (st !== state.alerts) state.alerts = st;
      if (transitions.length > 0) writeTransitions(ctx);
    }
    if (best >= settings.threshold) {
      // An anomaly's path (explanation, rows) is traced whatever the sampling ratio (ADR 0023).
      ctx.keepTrace?.();
      const metric = names[bestIdx]!;
      // Found in a reading older than historicalAfterMs (a store-and-forward backlog): marked so.
      const historical = ctx.now() - r.tsMs > settings.historicalAfterMs;
      if (historical) counts.historicalAnomalies++;
      const reasons = reasonsOf(state, table.models, modelOf(state), names, idx, scores, settings.threshold, joint, jointScratch.contrib);
      const ev: AnalysisEvent = { kind: "anomaly", deviceId: r.deviceId, epoch, seq, tsMs: r.tsMs, score: best, metric, value: values[bestIdx]!, historical, reasons };
      const partOf = openIncident(state, fromJoint, epoch, seq);
      if (partOf !== undefined) {
        // A few readings after another anomaly (another metric, or the device-level model): part of
        // its incident, which is explained once; stored with its reasons and the incident. A
        // metric's own anomaly keeps its window (its shape); the device-level one has none of its own.
        counts.anomaliesMerged++;
        ctx.emit(analysisSubject(r.deviceId), { ...ev, partOf });
        recordJoined(state, ctx, { epoch, seq, tsMs: r.tsMs, metric, score: best, reasons }, partOf);
        if (!fromJoint) openWindow(state, epoch, seq, r.tsMs, bestMetric, best, true, ctx);
      } else {
        ctx.emit(analysisSubject(r.deviceId), ev);
        // The window's shape, for similar-incident search, is taken once the readings after it came.
        openWindow(state, epoch, seq, r.tsMs, bestMetric, best, false, ctx);
        // Asynchronous: the actor keeps processing readings; the answer arrives as a message.
        if (settings.explainAnomalies) askExplanation(ctx, { epoch, seq, tsMs: r.tsMs, metric, score: best, reasons }, { deviceId: r.deviceId, metric, values: recentValues(state, bestMetric) }, values[bestIdx]!, r.log, settings.explainCache);
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
    const z = rollingZAndAdd(state, i, v);
    const model = table.models[state.f64[state.base + i * MH + H_MODEL]!]!;
    const d = detectMetric(state, arena, i, model, v, tsMs); // may move the block: read state.f64/base afterwards
    if (state.f64[state.base + i * MH + H_DET + S_N]! > model.params.warmup) return d;
    // Warm-up: only clear outliers (|z| ≥ 6 against the readings so far) count, so a new device's
    // start-up is not flagged (3.9σ flagged 0.4–0.8 % of the first 300 readings; 6σ 0.01 %).
    return z >= WARMUP_Z ? 1 : 0;
  }

  return {
    type: "device",
    settings,
    configure(next) {
      // Validate everything first: an invalid change throws and changes nothing.
      const checked = checkDeviceSettings(next as Partial<DeviceSettings>);
      const nextPolicies = createSeqPolicies({ ...settings, ...checked });
      if (checked.alertRules !== undefined) alerts.configure(checked.alertRules);
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
            if (alerts.enabled || state.alerts !== undefined) {
              const st = alerts.onOffline(state.alerts, state.id, ctx.now(), transitions);
              if (st !== state.alerts) state.alerts = st;
              if (transitions.length > 0) writeTransitions(ctx);
            }
          }
          return state;
        }
        case "explain-cache-reply": {
          const at = { epoch: msg.epoch, seq: msg.seq, tsMs: msg.tsMs, metric: msg.metric, score: msg.score, reasons: msg.reasons };
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
        case "alert-command": {
          // An operator's acknowledge/resolve, from the journal: applied in order with the readings.
          const { st, error } = alerts.onCommand(state.alerts, msg, transitions);
          if (st !== state.alerts) state.alerts = st;
          if (error !== "") counts.alertCommandsRejected++;
          if (transitions.length > 0) writeTransitions(ctx);
          return state;
        }
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
    rowSchemas: {
      [READINGS_TABLE]: READINGS_SCHEMA,
      [ANALYSES_TABLE]: ANALYSES_SCHEMA,
      [DEVICE_EVENTS_TABLE]: DEVICE_EVENTS_SCHEMA,
      [ANOMALY_WINDOWS_TABLE]: ANOMALY_WINDOWS_SCHEMA,
      [ALERT_TRANSITIONS_TABLE]: ALERT_TRANSITIONS_SCHEMA,
      [ALERTS_TABLE]: ALERTS_SCHEMA,
    },
    arena,
  };
}

/** Dead-letter code of each verdict that drops a reading with content (plain duplicates are only counted). */
const DROP_CODES: Partial<Record<Verdict, "conflicting_duplicate" | "seq_out_of_range" | "stale_epoch" | "too_late">> = {
  [Verdict.ConflictingDuplicate]: "conflicting_duplicate",
  [Verdict.OutOfRange]: "seq_out_of_range",
  [Verdict.StaleEpoch]: "stale_epoch",
  [Verdict.TooLate]: "too_late",
};

/** A lifecycle event of the device (online, offline, restarted): published and stored. */
function lifecycle(state: DeviceState, ctx: ActorContext<DeviceMsg>, kind: DeviceLifecycleEvent["kind"], detail: string): void {
  const atMs = ctx.now();
  const ev: DeviceLifecycleEvent = { kind, deviceId: state.id, atMs, epoch: state.epoch, lastSeq: state.hwm, ...(detail ? { detail } : {}) };
  ctx.emit(deviceEventSubject(state.id), ev);
  ctx.write(DEVICE_EVENTS_TABLE, { device_id: state.id, kind, epoch: state.epoch, at_ms: atMs, last_seq: state.hwm, detail });
}

/** The device actor with default settings. */
export const deviceActor = createDeviceActor();

/**
 * The metric names of a reading, in its order. A device usually sends the same metrics in the same
 * order reading after reading: then they are its state's (immutable, shared) list, and a reading
 * allocates no array of names (Object.keys made one per reading).
 */
function namesOf(metrics: Readonly<Record<string, number>>, known: readonly string[]): readonly string[] {
  let n = 0;
  for (const name in metrics) {
    if (n >= known.length || known[n] !== name) return Object.keys(metrics);
    n++;
  }
  return n === known.length ? known : Object.keys(metrics);
}
