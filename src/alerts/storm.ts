import type { AlertTransition } from "../domain/alerts.js";

/**
 * Fleet-wide storm control (docs/adr/0016-alerts.md, decision 7), pure and deterministic by the
 * transitions' time: the same transitions in the same order give the same decisions, so the state
 * is rebuilt after a restart by replaying what came after the last saved state (src/alerts/notifier.ts).
 *
 * Raises count in the minute `floor(atMs / 60 000)` (a raise older than the minute before the newest
 * one seen counts in that minute: a lagging device cannot reopen a minute already judged). Outside a
 * storm the first `maxPerMinute` raises of a minute are notified one by one; the next one starts a
 * storm (`storm/<start minute ms>`, `-2`, `-3`... appended should another start in that minute): one "storm-started" notification, and from then on every raise —
 * and every later transition of an alert grouped into a storm, even after the storm ended — is
 * grouped (counted, not notified). Transitions of alerts notified one by one stay one by one. The
 * storm ends once a whole minute after its last minute of more than `maxPerMinute` raises is over
 * (seen from a later transition's time or from `tick`), with one "storm-ended" summary.
 */

/** What to do with one transition. */
export type StormDecision =
  | { readonly action: "notify" }
  /** Counted into storm `stormId`, not notified. */
  | { readonly action: "group"; readonly stormId: string }
  /** This raise starts storm `stormId`: send the storm-started notification (the raise itself is its first grouped alert). */
  | { readonly action: "notify-and-start"; readonly stormId: string };

/** A storm as notified when it starts (counts so far) and when it ends. */
export interface StormSummary {
  /** `storm/<start minute, ms since the epoch>`. */
  readonly id: string;
  /** Start of the minute the storm started in. */
  readonly startedAtMs: number;
  /** End of the quiet minute that ended it (absent while it is open). */
  readonly endedAtMs?: number;
  readonly maxPerMinute: number;
  /** Distinct alerts grouped into it. */
  readonly alertsGrouped: number;
  /** Transitions grouped into it (raises and later transitions of its alerts, until it ended). */
  readonly transitionsGrouped: number;
  /** Alerts grouped into it that were not resolved yet. */
  readonly stillOpen: number;
  /** Most raises in one of its minutes. */
  readonly peakPerMinute: number;
  /** Alerts grouped, by rule. */
  readonly byRule: Readonly<Record<string, number>>;
  /** Devices with the most alerts grouped (at most 10, most first). */
  readonly topDevices: readonly { readonly deviceId: string; readonly alerts: number }[];
}

interface Storm {
  id: string;
  startMinute: number;
  lastBusyMinute: number;
  alerts: number;
  transitions: number;
  peak: number;
  byRule: Record<string, number>;
  byDevice: Record<string, number>;
}

interface State {
  v: 1;
  newestMinute: number;
  counts: [number, number][];
  storm: Storm | null;
  /** Open alerts grouped into a storm: alert id -> storm id. */
  grouped: [string, string][];
  /** Raises notified one by one in the last two minutes: alert id -> minute (a repeated raise is not counted twice). */
  individual: [string, number][];
  ended: StormSummary[];
  /** Minute of the last storm's start and how many started in it. */
  lastStart: [number, number];
}

const MINUTE = 60_000;
const TOP_DEVICES = 10;

/** The storm gate: `decide` each transition in order, `tick` for storms that ended. */
export class StormGate {
  private newestMinute = -Infinity;
  private readonly counts = new Map<number, number>();
  private storm: Storm | undefined;
  private readonly grouped = new Map<string, string>();
  private readonly individual = new Map<string, number>();
  private readonly ended: StormSummary[] = [];
  private lastStart: [number, number] = [-1, 0];

  constructor(readonly maxPerMinute: number) {
    if (!(Number.isInteger(maxPerMinute) && maxPerMinute >= 1)) throw new RangeError(`maxPerMinute must be an integer >= 1, got ${maxPerMinute}`);
  }

  /** The decision for `t` (transitions must come in their stream's order). */
  decide(t: AlertTransition): StormDecision {
    const m = Math.max(Math.floor(t.atMs / MINUTE), this.newestMinute - 1);
    this.endIfDue(m);
    if (m > this.newestMinute) {
      this.newestMinute = m;
      for (const k of this.counts.keys()) if (k < m - 1) this.counts.delete(k);
      for (const [id, k] of this.individual) if (k < m - 1) this.individual.delete(id);
    }
    const stormId = this.grouped.get(t.alertId);
    if (stormId !== undefined) {
      // A later transition of a grouped alert (or a repeated raise): grouped, never counted again.
      if (this.storm?.id === stormId) this.storm.transitions++;
      if (t.state === "resolved") this.grouped.delete(t.alertId);
      return { action: "group", stormId };
    }
    if (t.kind !== "raised" || this.individual.has(t.alertId)) return { action: "notify" };
    const n = (this.counts.get(m) ?? 0) + 1;
    this.counts.set(m, n);
    if (this.storm !== undefined) {
      if (n > this.maxPerMinute) this.storm.lastBusyMinute = Math.max(this.storm.lastBusyMinute, m);
      this.storm.peak = Math.max(this.storm.peak, n);
      this.group(this.storm, t);
      return { action: "group", stormId: this.storm.id };
    }
    if (n <= this.maxPerMinute) {
      this.individual.set(t.alertId, m);
      return { action: "notify" };
    }
    // A second storm counted in the same minute (the first one ended on the timer while raises of
    // that minute still came) gets its own id.
    this.lastStart = this.lastStart[0] === m ? [m, this.lastStart[1] + 1] : [m, 1];
    const id = this.lastStart[1] === 1 ? `storm/${m * MINUTE}` : `storm/${m * MINUTE}-${this.lastStart[1]}`;
    const storm: Storm = { id, startMinute: m, lastBusyMinute: m, alerts: 0, transitions: 0, peak: n, byRule: {}, byDevice: {} };
    this.storm = storm;
    this.group(storm, t);
    return { action: "notify-and-start", stormId: storm.id };
  }

  /**
   * Ends the open storm when a whole quiet minute after its last busy one is over at `nowMs`, and
   * returns the summary of one storm that ended (here or in `decide`) and was not returned yet; call
   * again until it returns undefined.
   */
  tick(nowMs: number): StormSummary | undefined {
    this.endIfDue(Math.floor(nowMs / MINUTE));
    return this.ended.shift();
  }

  /** The open storm, with its counts so far (undefined when there is none). */
  openStorm(): StormSummary | undefined {
    return this.storm === undefined ? undefined : this.summary(this.storm);
  }

  /** Id of the open storm (undefined when there is none). */
  get openStormId(): string | undefined {
    return this.storm?.id;
  }

  /** Alerts currently grouped into a storm and not resolved. */
  get groupedAlerts(): number {
    return this.grouped.size;
  }

  /** The whole state as JSON (see {@link StormGate.restore}). */
  serialize(): string {
    const s: State = {
      v: 1,
      newestMinute: Number.isFinite(this.newestMinute) ? this.newestMinute : -1,
      counts: [...this.counts],
      storm: this.storm ?? null,
      grouped: [...this.grouped],
      individual: [...this.individual],
      ended: this.ended,
      lastStart: this.lastStart,
    };
    return JSON.stringify(s);
  }

  /** A gate in the state `json` (from {@link StormGate.serialize}) deciding with `maxPerMinute` from now on. */
  static restore(json: string, maxPerMinute: number): StormGate {
    const s = JSON.parse(json) as State;
    if (s.v !== 1) throw new RangeError(`storm state version ${String(s.v)} is not supported`);
    const g = new StormGate(maxPerMinute);
    g.newestMinute = s.newestMinute < 0 ? -Infinity : s.newestMinute;
    for (const [k, n] of s.counts) g.counts.set(k, n);
    g.storm = s.storm ?? undefined;
    for (const [a, id] of s.grouped) g.grouped.set(a, id);
    for (const [a, k] of s.individual) g.individual.set(a, k);
    g.ended.push(...s.ended);
    g.lastStart = s.lastStart;
    return g;
  }

  private group(storm: Storm, t: AlertTransition): void {
    this.grouped.set(t.alertId, storm.id);
    storm.alerts++;
    storm.transitions++;
    storm.byRule[t.rule] = (storm.byRule[t.rule] ?? 0) + 1;
    storm.byDevice[t.deviceId] = (storm.byDevice[t.deviceId] ?? 0) + 1;
  }

  private endIfDue(minute: number): void {
    const s = this.storm;
    if (s === undefined || minute < s.lastBusyMinute + 2) return;
    this.storm = undefined;
    this.ended.push({ ...this.summary(s), endedAtMs: (s.lastBusyMinute + 2) * MINUTE });
  }

  private summary(s: Storm): StormSummary {
    let stillOpen = 0;
    for (const id of this.grouped.values()) if (id === s.id) stillOpen++;
    const topDevices = Object.entries(s.byDevice)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, TOP_DEVICES)
      .map(([deviceId, alerts]) => ({ deviceId, alerts }));
    return {
      id: s.id,
      startedAtMs: s.startMinute * MINUTE,
      maxPerMinute: this.maxPerMinute,
      alertsGrouped: s.alerts,
      transitionsGrouped: s.transitions,
      stillOpen,
      peakPerMinute: s.peak,
      byRule: { ...s.byRule },
      topDevices,
    };
  }
}
