import type { AlertCommand, AlertRule, AlertStateName, AlertTransition, Severity } from "../../src/domain/alerts.js";
import { alertIdOf, deviceOfAlertId, SEVERITIES } from "../../src/domain/alerts.js";
import { ABOVE, BELOW, checkAlertRules, compileRules, CRITICAL, NO_DATA, OFFLINE, SCORE } from "./rules.js";
import type { CompiledRule, RuleSet } from "./rules.js";
import { compact, DeviceAlerts, newDeviceAlerts, resetSlot, Slot } from "./state.js";
import { acknowledge, clearFlapping, clearOrFlap, close, escalate, raise } from "./moves.js";

/** What a reading says about a rule's condition. */
const SKIP = 0; // the reading does not concern the rule (its metric is absent)
const HOLD = 1; // between the clear and the raise level (hysteresis): nothing changes
const RAISE = 2;
const CLEAR = 3;

/** An open alert, for introspection. */
export interface OpenAlert {
  readonly alertId: string;
  readonly rule: string;
  readonly state: AlertStateName;
  readonly severity: Severity;
}

/**
 * The alert rules of the devices of one logic instance (docs/adr/0016-alerts.md). The engine holds
 * only the rules; each device's state (`DeviceAlerts`) is kept by its actor and passed in, so it
 * travels in the device's snapshot and is replayed with its turns. Per device and rule: hysteresis
 * (raise at one level, clear at another), minimum durations (`forMs`, `clearForMs`), at most one open
 * alert, flap suppression, escalation while unacknowledged, operator acknowledge/resolve.
 *
 * Time: readings' times (`tsMs`) for everything readings drive, the actor's clock for `onOffline`
 * and operator commands. Deterministic: the same calls give the same transitions, whether or not
 * the states went through `encodeAlerts`/`decodeAlerts` in between.
 *
 * Pending timers: a raise (clear) is pending from the first reading meeting its condition; a reading
 * meeting the opposite condition resets it; readings between the levels neither reset nor complete
 * it; the change happens at the first reading meeting the condition `forMs` (`clearForMs`) or more
 * after the start. Escalation is checked on readings only, so an `offline` alert (its device sends
 * none) never escalates; a device that keeps sending escalates its other alerts.
 */
export class AlertEngine {
  private set: RuleSet;

  /** Validates `rules` (RangeError naming the rule and the field) and compiles them. */
  constructor(rules: readonly AlertRule[]) {
    this.set = compileRules(checkAlertRules(rules));
  }

  /**
   * Replaces the rules (live reload): validates first and throws without changing anything. Device
   * states catch up on their next touch: open alerts of a rule that went (or changed kind or
   * metric) get a final "resolved" transition with reason "rule removed" ("rule changed"); the
   * rule's alert counter is kept, so an alert id is never used twice.
   */
  configure(rules: readonly AlertRule[]): void {
    this.set = compileRules(checkAlertRules(rules));
  }

  /** True when there is any rule. */
  get enabled(): boolean {
    return this.set.rules.length > 0;
  }

  /** The rules in force. */
  get rules(): readonly AlertRule[] {
    return this.set.rules.map((r) => r.rule);
  }

  /**
   * One applied reading of the device: `names`, `values`, `scores` parallel, `best` the highest
   * score. Appends the transitions to `out`; returns the device's new state (undefined: nothing
   * to keep). Allocates nothing when nothing is tracked and `best` is below every score rule's
   * raise level (the default rules).
   */
  onReading(st: DeviceAlerts | undefined, deviceId: string, tsMs: number, names: readonly string[], values: readonly number[], scores: readonly number[], best: number, out: AlertTransition[]): DeviceAlerts | undefined {
    const set = this.set;
    if (st === undefined) {
      if (best < set.quietBelow) return undefined;
    } else if (DeviceAlerts.alignedTo(st) !== set) realign(st, set, tsMs, out);
    const rules = set.rules;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      let slot = st === undefined ? undefined : st.slots[i];
      let level = SKIP;
      let v = 0;
      let at = -1;
      switch (r.code) {
        case SCORE:
          if (r.metric === "") v = best;
          else if ((at = names.indexOf(r.metric)) >= 0) v = scores[at]!;
          else break;
          level = v >= r.raiseAt ? RAISE : v < r.clearAt ? CLEAR : HOLD;
          break;
        case ABOVE:
          if ((at = names.indexOf(r.metric)) < 0) break;
          v = values[at]!;
          level = v >= r.raiseAt ? RAISE : v < r.clearAt ? CLEAR : HOLD;
          break;
        case BELOW:
          if ((at = names.indexOf(r.metric)) < 0) break;
          v = values[at]!;
          level = v <= r.raiseAt ? RAISE : v > r.clearAt ? CLEAR : HOLD;
          break;
        case NO_DATA:
          if (names.indexOf(r.metric) >= 0) {
            level = CLEAR;
            if (slot === undefined) slot = (st ??= newDeviceAlerts(deviceId, set)).slots[i] = new Slot(r.id, r.sig);
            if (!(slot.lastSeen >= tsMs)) slot.lastSeen = tsMs;
          } else if (slot !== undefined && slot.lastSeen === slot.lastSeen) {
            v = tsMs - slot.lastSeen;
            level = v >= r.afterMs ? RAISE : HOLD;
          }
          break;
        default: // OFFLINE: any reading is the clear condition of an offline alert
          if (slot !== undefined) level = CLEAR;
      }
      if (level !== SKIP) {
        if (slot === undefined) {
          if (level !== RAISE) continue;
          slot = (st ??= newDeviceAlerts(deviceId, set)).slots[i] = new Slot(r.id, r.sig);
        }
        step(out, deviceId, slot, r, level, tsMs, v, names, scores, best);
      }
      // Escalation: any later reading of the device counts (not offline alerts: see the class doc).
      if (slot !== undefined && slot.version > 0 && !slot.acked && r.escalateAfterMs > 0 && slot.severity < CRITICAL && r.code !== OFFLINE && tsMs - slot.escAtMs >= r.escalateAfterMs) {
        escalate(out, deviceId, slot, tsMs, level === SKIP ? 0 : v);
      }
    }
    return st === undefined ? undefined : compact(st);
  }

  /** The device went offline at `atMs` (actor clock): its offline rules raise (`forMs` does not apply). */
  onOffline(st: DeviceAlerts | undefined, deviceId: string, atMs: number, out: AlertTransition[]): DeviceAlerts | undefined {
    const set = this.set;
    if (set.offline.length === 0) return st;
    if (st !== undefined && DeviceAlerts.alignedTo(st) !== set) realign(st, set, atMs, out);
    for (const r of set.offline) {
      const i = set.byId.get(r.id)!;
      let slot = st === undefined ? undefined : st.slots[i];
      if (slot === undefined) slot = (st ??= newDeviceAlerts(deviceId, set)).slots[i] = new Slot(r.id, r.sig);
      if (slot.version > 0) slot.since = NaN; // already open (dedup): the clear timer starts again
      else if (!slot.rearm) raise(out, deviceId, slot, r, atMs, 0, "");
    }
    return st === undefined ? undefined : compact(st);
  }

  /**
   * An operator's acknowledge or resolve (`cmd.atMs` is the transition's time). Returns an error
   * (the state unchanged) when the alert is not an open alert of this device; acknowledging an
   * acknowledged alert is no error and no transition. A resolved alert's rule raises again only
   * after its condition was seen clear.
   */
  onCommand(st: DeviceAlerts | undefined, cmd: AlertCommand, out: AlertTransition[]): { st: DeviceAlerts | undefined; error: string } {
    const id = cmd.alertId;
    const device = deviceOfAlertId(id);
    if (device === undefined) return { st, error: `${JSON.stringify(id)} is not an alert id (<device>/<rule>/<n>)` };
    if (device !== cmd.deviceId || (st !== undefined && st.deviceId !== device)) return { st, error: `alert ${id} is not an alert of device ${st?.deviceId ?? cmd.deviceId}` };
    if (st === undefined) return { st, error: `unknown alert ${id}` };
    const set = this.set;
    if (DeviceAlerts.alignedTo(st) !== set) realign(st, set, cmd.atMs, out);
    const rest = id.slice(device.length + 1);
    const cut = rest.lastIndexOf("/");
    const rule = rest.slice(0, cut);
    const n = Number(rest.slice(cut + 1));
    const i = set.byId.get(rule);
    const slot = i === undefined ? st.retired?.find((s) => s.rule === rule) : st.slots[i];
    let error = "";
    if (slot === undefined || String(n) !== rest.slice(cut + 1) || n < 1 || n > slot.n) error = `unknown alert ${id}`;
    else if (n < slot.n || slot.version === 0) error = `alert ${id} is resolved`;
    else if (cmd.op === "acknowledge") {
      if (!slot.acked) acknowledge(out, device, slot, cmd.atMs, cmd.by, cmd.reason);
    } else {
      close(out, device, slot, "resolved", cmd.atMs, 0, cmd.by === "" ? "resolved" : `resolved by ${cmd.by}`, cmd.by, cmd.reason);
      slot.rearm = true;
    }
    return { st: compact(st), error };
  }

  /** The open alerts of a device's state, in rule order. */
  open(st: DeviceAlerts | undefined): readonly OpenAlert[] {
    const list: OpenAlert[] = [];
    if (st === undefined) return list;
    for (const s of [...st.slots, ...(st.retired ?? [])]) {
      if (s === undefined || s.version === 0) continue;
      list.push({ alertId: alertIdOf(st.deviceId, s.rule, s.n), rule: s.rule, state: s.acked ? "acknowledged" : "firing", severity: SEVERITIES[s.severity]! });
    }
    return list;
  }
}

/** Applies what a reading says (`level`) to one rule's slot. */
function step(out: AlertTransition[], deviceId: string, s: Slot, r: CompiledRule, level: number, t: number, v: number, names: readonly string[], scores: readonly number[], best: number): void {
  if (s.version === 0) {
    if (level === CLEAR) {
      s.rearm = false;
      s.since = NaN;
      return;
    }
    if (level !== RAISE || s.rearm) return;
    if (s.since !== s.since) s.since = t;
    if (t - s.since < r.forMs) return;
    // A score rule over every metric names the metric with the best score.
    const metric = r.code === SCORE && r.metric === "" ? (names[scores.indexOf(best)] ?? "") : r.metric;
    raise(out, deviceId, s, r, t, v, metric);
    return;
  }
  if (level === RAISE) {
    s.since = NaN;
    return;
  }
  if (level !== CLEAR) return;
  if (s.since !== s.since) s.since = t;
  if (s.flapping) {
    if (t - s.since >= r.flapClearMs) clearFlapping(out, deviceId, s, r, t, v);
  } else if (t - s.since >= r.clearForMs) clearOrFlap(out, deviceId, s, r, t, v);
}

/**
 * Re-indexes a state's slots by a new rule set (after `configure`, or a restored state): a slot
 * whose rule went or changed signature loses its alert (a final "resolved" transition at `t`)
 * and its condition; its counter stays (retired when the rule went).
 */
function realign(st: DeviceAlerts, set: RuleSet, t: number, out: AlertTransition[]): void {
  const pool: Slot[] = [];
  for (const s of st.slots) if (s !== undefined) pool.push(s);
  if (st.retired !== null) pool.push(...st.retired);
  const slots: (Slot | undefined)[] = [];
  for (let i = 0; i < set.rules.length; i++) slots.push(undefined);
  let retired: Slot[] | null = null;
  for (const s of pool) {
    const i = set.byId.get(s.rule);
    if (i !== undefined && slots[i] === undefined && set.rules[i]!.sig === s.sig) {
      slots[i] = s;
      continue;
    }
    const why = i === undefined ? "rule removed" : "rule changed";
    if (s.version > 0) close(out, st.deviceId, s, "resolved", t, 0, why, "", why);
    resetSlot(s, i === undefined ? s.sig : set.rules[i]!.sig);
    if (i !== undefined && slots[i] === undefined) slots[i] = s;
    else if (s.n > 0) (retired ??= []).push(s);
  }
  st.slots = slots;
  st.retired = retired;
  DeviceAlerts.align(st, set);
}
