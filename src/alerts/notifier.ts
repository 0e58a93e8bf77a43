import type { AlertTransition } from "../domain/alerts.js";
import type { Clock, TimerHandle } from "../ports/clock.js";
import type { EventPublisher } from "../ports/journal.js";
import type { Log } from "../ports/log.js";
import type { AlertFeed, LiveSilences, NotifiedMarks, NotifierStateStore, Running } from "./ports.js";
import type { Notification, TargetStats, WebhookTarget } from "./webhook.js";
import { silenceMatches } from "../ports/alerts.js";
import { systemClock } from "../base/clock.js";
import { describeError } from "../base/errors.js";
import { StormGate, type StormSummary } from "./storm.js";
import { WebhookSender } from "./webhook.js";

/** Dead-letter stage of the notifier (webhooks that failed, messages that are no transition). */
export const NOTIFIER_STAGE = "notifier";

/** What the notifier is wired to. */
export interface NotifierDeps {
  /** The alerts stream (a durable consumer, "shoal-notifier", one message in flight). */
  readonly feed: AlertFeed;
  readonly marks: NotifiedMarks;
  readonly state: NotifierStateStore;
  readonly silences: LiveSilences;
  /** Dead letters (stage "notifier"). */
  readonly events: Pick<EventPublisher, "deadLetter">;
  readonly log: Log;
  readonly clock?: Clock;
  /** HTTP client (default the global fetch). */
  readonly fetch?: typeof fetch;
}

/** Settings of the notifier. */
export interface NotifierOptions {
  readonly targets: readonly WebhookTarget[];
  readonly storm: { readonly maxPerMinute: number };
  /** Key of its saved state (use the consumer's name). Default "shoal-notifier". */
  readonly name?: string;
  /** Period of the storm-end check and of idle saves, ms. Default 5 000. */
  readonly tickMs?: number;
  /** Save the state after this many transitions... Default 500. */
  readonly saveEvery?: number;
  /** ...or this long after the first unsaved one, ms. Default 5 000. */
  readonly saveMs?: number;
  /** Period of the sweep of expired silences, ms. Default 60 000. */
  readonly sweepMs?: number;
  /** Most transitions replayed at start when the saved state is older than the consumer's position. Default 100 000. */
  readonly maxReplay?: number;
}

/** Counters since start. */
export interface NotifierStats {
  /** Transitions handled (replayed ones not counted). */
  transitions: number;
  /** Notifications decided (transitions, storm starts and ends), each sent to every target. */
  notifications: number;
  /** Deliveries that got a 2xx (all targets). */
  notified: number;
  silenced: number;
  grouped: number;
  stormsStarted: number;
  stormsEnded: number;
  deadLettered: number;
  retried: number;
  /** Deliveries skipped: the target had them (idempotency mark). */
  duplicates: number;
  /** Transitions replayed into the storm state at start. */
  replayed: number;
  /** Stream sequence of the last transition handled. */
  appliedSeq: number;
  openStorm: string | undefined;
  targets: Record<string, TargetStats & { deadLettered: number }>;
}

/** A running notifier. */
export interface Notifier {
  stats(): NotifierStats;
  /** Stops taking transitions (waits for the one in hand) and saves the state. */
  stop(): Promise<void>;
}

// A transition time this far past now is clamped (a device clock in the future must not hold a storm open).
const FUTURE_SLACK_MS = 60_000;

/**
 * The notifier (docs/adr/0016-alerts.md): takes the alerts stream in order, one transition at a
 * time; a transition matching an active silence is counted, not notified; the rest go through the
 * storm gate (src/alerts/storm.ts) and what it lets through goes to every webhook target (in
 * parallel; idempotent per target); the transition is acknowledged once every target is done
 * (delivered or dead-lettered).
 *
 * Storm state across restarts: saved (`state.saveState(name, seq, json)`) every `saveEvery`
 * transitions or `saveMs`, after a storm ends on the timer, and at stop — not after every change (a
 * storm of 10 000 alerts is a state of ~0.5 MB). At start the saved state is loaded and the
 * transitions between its sequence and the consumer's ack floor are replayed through the gate
 * without notifying (they were notified before they were acknowledged): the gate is a deterministic
 * function of the transitions, so the rebuilt state is the one the previous process had. A
 * transition redelivered after a lost ack (sequence not above the last handled) is acknowledged again
 * and nothing else. Limits: silences are read live, so a silence changed within the replayed stretch
 * may count a raise differently; a storm ended by the timer but not saved before a crash ends again
 * (same notification id: its idempotency mark keeps it from being sent twice).
 */
export async function startNotifier(deps: NotifierDeps, opts: NotifierOptions): Promise<Notifier> {
  const clock = deps.clock ?? systemClock;
  const name = opts.name ?? "shoal-notifier";
  const tickMs = opts.tickMs ?? 5_000;
  const saveEvery = opts.saveEvery ?? 500;
  const saveMs = opts.saveMs ?? 5_000;
  const sweepMs = opts.sweepMs ?? 60_000;
  const senders = opts.targets.map((t) => new WebhookSender(t, deps.marks, { clock, ...(deps.fetch ? { fetch: deps.fetch } : {}) }));
  const deadByTarget = new Map<string, number>(opts.targets.map((t) => [t.name, 0]));
  const c = { transitions: 0, notifications: 0, silenced: 0, grouped: 0, stormsStarted: 0, stormsEnded: 0, deadLettered: 0, replayed: 0 };

  // The saved state, then the acknowledged transitions after it, replayed.
  const saved = await deps.state.loadState(name);
  const gate = saved === undefined ? new StormGate(opts.storm.maxPerMinute) : StormGate.restore(saved.state, opts.storm.maxPerMinute);
  let appliedSeq = saved?.seq ?? 0;
  const floor = await deps.feed.ackFloor();
  if (floor > appliedSeq) {
    await deps.feed.replay(Math.max(appliedSeq, floor - (opts.maxReplay ?? 100_000)), floor, (t) => {
      decide(t);
      c.replayed++;
    });
    // Storms due to end by now (not by a replayed transition's time) end on the first tick, notified.
    appliedSeq = floor;
    await deps.state.saveState(name, appliedSeq, gate.serialize());
    deps.log.info({ replayed: c.replayed, seq: appliedSeq }, "notifier: storm state rebuilt");
  }
  let dirty = 0;
  let lastSave = clock.now();
  let inFlight: { seq: number; notes: Notification[] } | undefined;
  let chain: Promise<void> = Promise.resolve();
  const serial = (fn: () => Promise<void>): Promise<void> => {
    const p = chain.then(fn);
    chain = p.catch(() => {});
    return p;
  };

  /** The storm gate's part: silenced, grouped or what to notify. Counts only when `live`. */
  function decide(t: AlertTransition, live = false): Notification[] {
    const now = clock.now();
    if (deps.silences.current().some((s) => silenceMatches(s, t.deviceId, t.rule, now))) {
      if (live) c.silenced++;
      return [];
    }
    const at = { ...t, atMs: Math.min(t.atMs, now + FUTURE_SLACK_MS) };
    const notes: Notification[] = [];
    for (let s: StormSummary | undefined; (s = gate.tick(at.atMs)) !== undefined; ) notes.push(endedNote(s));
    const d = gate.decide(at);
    if (d.action === "notify") notes.push({ id: `${t.alertId}:${t.version}`, type: "transition", transition: t });
    else if (d.action === "notify-and-start") {
      const storm = gate.openStorm();
      notes.push({ id: d.stormId, type: "storm-started", transition: t, ...(storm ? { storm } : {}) });
    }
    if (live && d.action !== "notify") c.grouped++;
    return notes;
  }

  function endedNote(s: StormSummary): Notification {
    return { id: `${s.id}:ended`, type: "storm-ended", storm: s };
  }

  async function deliverAll(notes: readonly Notification[]): Promise<void> {
    for (const n of notes) {
      if (n.type === "storm-started") deps.log.warn({ storm: n.id, maxPerMinute: opts.storm.maxPerMinute }, "alert storm started: alerts are grouped");
      if (n.type === "storm-ended") deps.log.info({ storm: n.id, alerts: n.storm?.alertsGrouped, stillOpen: n.storm?.stillOpen }, "alert storm ended");
      await Promise.all(senders.map((s) => deliver(s, n)));
    }
  }

  async function deliver(s: WebhookSender, n: Notification): Promise<void> {
    const name = s.target.name;
    const r = await s.send(n, (attempt, reason) => deps.log.debug({ target: name, id: n.id, attempt, reason }, "webhook failed; retrying"));
    if (r.outcome !== "failed") return;
    const reason = `${name}: ${r.reason} after ${r.attempts} attempt(s)`;
    deps.log.warn({ target: name, id: n.id, reason: r.reason, attempts: r.attempts }, "webhook failed; dead-lettered");
    await deps.events.deadLetter({ stage: NOTIFIER_STAGE, code: "webhook_failed", reason, source: `webhook ${name}`, payload: new TextEncoder().encode(JSON.stringify(n)) });
    c.deadLettered++;
    deadByTarget.set(name, (deadByTarget.get(name) ?? 0) + 1);
  }

  async function finish(seq: number, notes: Notification[]): Promise<void> {
    inFlight = { seq, notes };
    await deliverAll(notes);
    inFlight = undefined;
    for (const n of notes) {
      if (n.type === "storm-started") c.stormsStarted++;
      if (n.type === "storm-ended") c.stormsEnded++;
    }
    c.notifications += notes.length;
    if (++dirty >= saveEvery || clock.now() - lastSave >= saveMs) await save();
  }

  async function save(): Promise<void> {
    if (inFlight !== undefined) return; // the state must not run ahead of what was delivered
    await deps.state.saveState(name, appliedSeq, gate.serialize());
    dirty = 0;
    lastSave = clock.now();
  }

  const handle = (t: AlertTransition, seq: number): Promise<void> =>
    serial(async () => {
      if (inFlight?.seq === seq) return finish(seq, inFlight.notes); // delivering it failed (a dead letter not stored): again
      if (seq <= appliedSeq) return; // handled already; only its ack was lost
      c.transitions++;
      const notes = decide(t, true);
      appliedSeq = seq;
      await finish(seq, notes);
    });

  const poison = async (raw: Uint8Array, seq: number, err: unknown): Promise<void> => {
    deps.log.warn({ seq, err: describeError(err) }, "notifier: message on the alerts stream is no transition; dead-lettered");
    await deps.events.deadLetter({ stage: NOTIFIER_STAGE, code: "invalid_transition", reason: describeError(err), source: `alerts stream seq ${seq}`, payload: raw });
  };

  // The timer: storms that end without a later transition, idle saves, expired silences.
  let stopped = false;
  let timer: TimerHandle | undefined;
  let lastSweep = clock.now();
  const tick = async (): Promise<void> => {
    if (inFlight !== undefined) return;
    const notes: Notification[] = [];
    for (let s: StormSummary | undefined; (s = gate.tick(clock.now())) !== undefined; ) notes.push(endedNote(s));
    if (notes.length > 0) {
      await deliverAll(notes);
      c.stormsEnded += notes.length;
      c.notifications += notes.length;
      await save();
    } else if (dirty > 0 && clock.now() - lastSave >= saveMs) await save();
    if (clock.now() - lastSweep >= sweepMs) {
      lastSweep = clock.now();
      const now = clock.now();
      for (const s of deps.silences.current()) if (s.untilMs <= now) await deps.silences.remove(s.id);
    }
  };
  const arm = () => {
    timer = clock.setTimeout(() => {
      void serial(tick)
        .catch((e: unknown) => deps.log.warn({ err: describeError(e) }, "notifier: timer work failed; next tick retries"))
        .finally(() => {
          if (!stopped) arm();
        });
    }, tickMs);
  };
  arm();
  const running: Running = deps.feed.start(handle, poison);

  return {
    stats: () => {
      const targets: NotifierStats["targets"] = {};
      for (const s of senders) targets[s.target.name] = { ...s.stats, deadLettered: deadByTarget.get(s.target.name) ?? 0 };
      const sum = (k: keyof TargetStats) => senders.reduce((a, s) => a + s.stats[k], 0);
      return { ...c, notified: sum("delivered"), retried: sum("retried"), duplicates: sum("duplicates"), appliedSeq, openStorm: gate.openStormId, targets };
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      await running.stop();
      await serial(async () => {
        if (dirty > 0) await save();
      });
    },
  };
}
