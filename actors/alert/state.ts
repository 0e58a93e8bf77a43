import type { RuleSet } from "./rules.js";

/**
 * Per-device alert state: one slot per rule the device has something for. Plain data (numbers,
 * strings, arrays), safe to snapshot (codec.ts) at any turn boundary.
 */

/** A device's state for one rule: its condition timers, its alert counter and its open alert. */
export class Slot {
  /** The rule's id. */
  rule: string;
  /** The rule's signature (kind and metric) this state was built under (rules.ts CompiledRule.sig). */
  sig: string;
  /** Alerts of this rule on this device so far: the open or last one is `<device>/<rule>/<n>`. */
  n = 0;
  /** Version of the open alert's last transition; 0: no open alert. */
  version = 0;
  /** The open alert was acknowledged (no escalation). */
  acked = false;
  /** The open alert is flapping (held open until the condition stayed clear for the flap window). */
  flapping = false;
  /** An operator resolved the last alert: no raise before the condition was seen clear. */
  rearm = false;
  /**
   * Time the pending change's condition was first met (readings' time): the raise condition while
   * no alert is open, the clear condition while one is. NaN: none pending.
   */
  since = NaN;
  /** no-data rules: the latest reading time the metric was seen at. NaN: never. */
  lastSeen = NaN;
  /** Times of the recent raises and clears (flap suppression), within the rule's flap window. */
  changes: number[] | null = null;
  /** The open alert's start. */
  startedAtMs = 0;
  /** The open alert's start or last escalation. */
  escAtMs = 0;
  /** The open alert's severity (index in SEVERITIES). */
  severity = 0;
  /** The open alert's metric. */
  metric = "";

  constructor(rule: string, sig: string) {
    this.rule = rule;
    this.sig = sig;
  }
}

/**
 * A device's alert state, opaque to its host (the device actor keeps it, undefined while the device
 * has nothing pending, open or counted). Compare two states with `encodeAlerts`, not structurally.
 */
export class DeviceAlerts {
  /** The rule set `slots` is indexed by (not part of the snapshot; null: not aligned yet). */
  #aligned: RuleSet | null;
  readonly deviceId: string;
  /** When aligned, `slots[i]` belongs to rule i of the rule set; otherwise any order. */
  slots: (Slot | undefined)[];
  /** Alert counters of rules no longer configured (kept so an alert id is never used twice). */
  retired: Slot[] | null = null;

  constructor(deviceId: string, slots: (Slot | undefined)[], aligned: RuleSet | null) {
    this.deviceId = deviceId;
    this.slots = slots;
    this.#aligned = aligned;
  }

  /** @internal The rule set the slots are aligned to. */
  static alignedTo(st: DeviceAlerts): RuleSet | null {
    return st.#aligned;
  }

  /** @internal Marks the slots aligned to `set`. */
  static align(st: DeviceAlerts, set: RuleSet): void {
    st.#aligned = set;
  }
}

/** A fresh state aligned to `set` (every slot empty). */
export function newDeviceAlerts(deviceId: string, set: RuleSet): DeviceAlerts {
  const slots: (Slot | undefined)[] = [];
  for (let i = 0; i < set.rules.length; i++) slots.push(undefined);
  return new DeviceAlerts(deviceId, slots, set);
}

/** `st`, or undefined when it holds nothing: no counter, nothing pending, nothing open. */
export function compact(st: DeviceAlerts): DeviceAlerts | undefined {
  if (st.retired !== null) return st;
  const slots = st.slots;
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i];
    if (s !== undefined && (s.n !== 0 || s.since === s.since || s.lastSeen === s.lastSeen)) return st;
  }
  return undefined;
}

/** Forgets a slot's condition and alert (its rule changed or went): only the counter stays. */
export function resetSlot(s: Slot, sig: string): void {
  s.sig = sig;
  s.version = 0;
  s.acked = false;
  s.flapping = false;
  s.rearm = false;
  s.since = NaN;
  s.lastSeen = NaN;
  s.changes = null;
  s.startedAtMs = 0;
  s.escAtMs = 0;
  s.severity = 0;
  s.metric = "";
}
