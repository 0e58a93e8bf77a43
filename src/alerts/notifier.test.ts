import { describe, expect, it } from "vitest";
import type { AlertTransition } from "../domain/alerts.js";
import type { Silence } from "../ports/alerts.js";
import type { Log } from "../ports/log.js";
import type { AlertFeed, LiveSilences, NotifiedMarks, NotifierStateStore } from "./ports.js";
import type { Notification, WebhookTarget } from "./webhook.js";
import { SimClock } from "../base/testing/sim-clock.js";
import { startNotifier, type NotifierOptions } from "./notifier.js";

const MIN = 60_000;
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % MIN);

const quiet: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function raised(device: string, atMs: number, rule = "offline"): AlertTransition {
  return { alertId: `${device}/${rule}/1`, version: 1, deviceId: device, rule, metric: "", kind: "raised", state: "firing", severity: "warning", atMs, startedAtMs: atMs, value: 0, summary: "", by: "", reason: "", flapping: false };
}
const cleared = (t: AlertTransition, atMs: number): AlertTransition => ({ ...t, version: t.version + 1, kind: "cleared", state: "resolved", atMs });

/** The alerts stream in memory: in order, one at a time, acknowledged when the handler resolves, again when it rejects. */
class MemoryFeed implements AlertFeed {
  readonly msgs: { seq: number; t: AlertTransition }[] = [];
  acked = 0;
  private wake: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];

  push(...ts: AlertTransition[]): void {
    for (const t of ts) this.msgs.push({ seq: this.msgs.length + 1, t });
    this.wake?.();
  }
  /** Resolves once every message pushed so far is acknowledged. */
  idle(): Promise<void> {
    return this.acked >= this.msgs.length ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }
  start(handle: (t: AlertTransition, seq: number) => Promise<void>) {
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        const m = this.msgs[this.acked];
        if (m === undefined) {
          for (const w of this.idleWaiters.splice(0)) w();
          await new Promise<void>((r) => (this.wake = r));
          continue;
        }
        try {
          await handle(m.t, m.seq);
          this.acked = m.seq;
        } catch {
          await Promise.resolve(); // handed over again
        }
      }
    })();
    return {
      stop: async () => {
        stopped = true;
        this.wake?.();
        await loop;
      },
    };
  }
  async ackFloor() {
    return this.acked;
  }
  async replay(afterSeq: number, toSeq: number, fn: (t: AlertTransition, seq: number) => void) {
    for (const m of this.msgs) if (m.seq > afterSeq && m.seq <= toSeq) fn(m.t, m.seq);
  }
}

function memoryMarks(): NotifiedMarks {
  const keys = new Set<string>();
  return { has: async (t, id) => keys.has(`${t}|${id}`), mark: async (t, id) => void keys.add(`${t}|${id}`) };
}

function memoryState(): NotifierStateStore & { frozen: boolean; saves: number } {
  const m = new Map<string, { seq: number; state: string }>();
  const self = {
    frozen: false,
    saves: 0,
    loadState: async (name: string) => m.get(name),
    saveState: async (name: string, seq: number, state: string) => {
      if (self.frozen) return;
      self.saves++;
      m.set(name, { seq, state });
    },
  };
  return self;
}

function memorySilences(list: Silence[] = []): LiveSilences & { list: Silence[]; removed: string[] } {
  const removed: string[] = [];
  return {
    list,
    removed,
    current: () => list,
    remove: async (id) => {
      const i = list.findIndex((s) => s.id === id);
      if (i < 0) return false;
      list.splice(i, 1);
      removed.push(id);
      return true;
    },
  };
}

/** A fetch answering `status()` and recording the notifications it got. */
function recordingFetch(status: () => number = () => 200) {
  const got: Notification[] = [];
  const fn = (async (_url: string | URL | Request, init?: RequestInit) => {
    const s = status();
    if (s === 200) got.push(JSON.parse(String(init?.body)) as Notification);
    return new Response("", { status: s });
  }) as typeof fetch;
  return { got, fn };
}

const TARGET: WebhookTarget = { name: "ops", url: "http://ops.invalid/hook", secret: "0123456789abcdef", ratePerMinute: 100_000, maxAttempts: 3, timeoutMs: 1_000, retryBaseMs: 100 };

function setup(o: { silences?: Silence[]; status?: () => number; options?: Partial<NotifierOptions> } = {}) {
  const clock = new SimClock(T0 + 10 * MIN);
  const feed = new MemoryFeed();
  const marks = memoryMarks();
  const state = memoryState();
  const silences = memorySilences(o.silences);
  const http = recordingFetch(o.status);
  const dead: { stage: string; code: string; reason: string; source: string; payload: Uint8Array }[] = [];
  const deps = { feed, marks, state, silences, events: { deadLetter: async (d: (typeof dead)[number]) => void dead.push(d) }, log: quiet, clock, fetch: http.fn };
  const options: NotifierOptions = { targets: [TARGET], storm: { maxPerMinute: 5 }, ...o.options };
  return { clock, feed, state, silences, http, dead, deps, options, start: () => startNotifier(deps, options) };
}

describe("notifier (in-memory stream, fake HTTP)", () => {
  it("notifies each transition once per target, skipping silenced ones, and sweeps expired silences", async () => {
    const now = T0 + 10 * MIN;
    const s = setup({
      silences: [
        { id: "s-dev", deviceId: "d1", untilMs: now + MIN, createdAtMs: now, by: "ann", reason: "maintenance" },
        { id: "s-rule", rule: "no-data", untilMs: now + MIN, createdAtMs: now, by: "ann", reason: "known" },
        { id: "s-old", deviceId: "d2", untilMs: now - 1, createdAtMs: now - MIN, by: "bob", reason: "over" },
      ],
      options: { sweepMs: 1_000, tickMs: 1_000 },
    });
    const n = await s.start();
    const ts = [raised("d1", now), raised("d2", now), raised("d3", now, "no-data"), raised("d3", now)];
    s.feed.push(...ts);
    await s.feed.idle();
    expect(s.http.got.map((x) => x.id)).toEqual(["d2/offline/1:1", "d3/offline/1:1"]);
    expect(n.stats()).toMatchObject({ transitions: 4, silenced: 2, notified: 2, grouped: 0 });
    await s.clock.advance(1_000);
    expect(s.silences.removed).toEqual(["s-old"]);
    await n.stop();
  });

  it("groups a storm: maxPerMinute raises, one start, their clears, one end on the timer", async () => {
    const s = setup();
    const n = await s.start();
    const at = T0 + 10 * MIN;
    const raises = Array.from({ length: 200 }, (_, i) => raised(`d${i}`, at + i));
    s.feed.push(...raises, ...raises.map((t) => cleared(t, at + 30_000)));
    await s.feed.idle();
    expect(n.stats()).toMatchObject({ openStorm: `storm/${at}`, stormsStarted: 1, grouped: 195 * 2 });
    await s.clock.advance(2 * MIN);
    const types = s.http.got.map((x) => x.type);
    expect(types.filter((t) => t === "transition")).toHaveLength(10);
    expect(types.filter((t) => t === "storm-started")).toHaveLength(1);
    expect(s.http.got.at(-1)).toMatchObject({ id: `storm/${at}:ended`, type: "storm-ended", storm: { alertsGrouped: 195, stillOpen: 0 } });
    expect(n.stats()).toMatchObject({ stormsEnded: 1, openStorm: undefined, notifications: 12, notified: 12 });
    await n.stop();
  });

  it("dead-letters a notification a target keeps refusing, then moves on", async () => {
    const s = setup({ status: () => 500 });
    const n = await s.start();
    s.feed.push(raised("d1", T0 + 10 * MIN));
    const drained = s.feed.idle();
    await s.clock.advance(1_000); // the retry backoff (100 + 200 ms)
    await drained;
    expect(s.dead).toHaveLength(1);
    expect(s.dead[0]).toMatchObject({ stage: "notifier", code: "webhook_failed", reason: "ops: HTTP 500 after 3 attempt(s)", source: "webhook ops" });
    expect(JSON.parse(new TextDecoder().decode(s.dead[0]!.payload))).toMatchObject({ id: "d1/offline/1:1", type: "transition" });
    expect(JSON.stringify(s.dead)).not.toContain(TARGET.secret);
    expect(n.stats()).toMatchObject({ deadLettered: 1, retried: 2, notified: 0, targets: { ops: { deadLettered: 1, retried: 2, failed: 1 } } });
    await n.stop();
  });

  it("rebuilds the storm state after a crash by replaying what came after its last save", async () => {
    const at = T0 + 10 * MIN;
    const raises = Array.from({ length: 60 }, (_, i) => raised(`d${i}`, at + i * 1500)); // 40 a minute
    const all = [...raises, ...raises.map((t, i) => cleared(t, at + 2 * MIN + i))];
    // One uninterrupted run.
    const ref = setup({ options: { saveEvery: 7 } });
    const r = await ref.start();
    ref.feed.push(...all);
    await ref.feed.idle();
    await ref.clock.advance(5 * MIN);
    await r.stop();
    // A run that crashes after 68 transitions (its last save was at 63), then a new notifier.
    const s = setup({ options: { saveEvery: 7 } });
    const a = await s.start();
    s.feed.push(...all.slice(0, 68));
    await s.feed.idle();
    s.state.frozen = true; // the crash: nothing saved any more
    await a.stop();
    s.state.frozen = false;
    const b = await s.start();
    expect(b.stats().replayed).toBe(68 - 63);
    s.feed.push(...all.slice(68));
    await s.feed.idle();
    await s.clock.advance(5 * MIN);
    await b.stop();
    // The same notifications, storm summaries (counts, still open) included.
    expect(s.http.got).toEqual(ref.http.got);
    expect(new Set(s.http.got.map((x) => x.id)).size).toBe(s.http.got.length);
    expect(ref.http.got.filter((x) => x.type === "transition")).toHaveLength(10);
  });

  it("notifies the end of a storm that became due while it was down", async () => {
    const s = setup({ options: { saveEvery: 1_000 } });
    const a = await s.start();
    const at = T0 + 10 * MIN;
    s.feed.push(...Array.from({ length: 20 }, (_, i) => raised(`d${i}`, at + i)));
    await s.feed.idle();
    s.state.frozen = true; // a crash: the storm state since the start was never saved
    await a.stop();
    s.state.frozen = false;
    await s.clock.advance(3 * MIN); // down for three minutes
    const b = await s.start();
    expect(b.stats()).toMatchObject({ replayed: 20, openStorm: `storm/${at}` });
    await s.clock.advance(5_000);
    expect(s.http.got.at(-1)).toMatchObject({ id: `storm/${at}:ended`, type: "storm-ended", storm: { alertsGrouped: 15, stillOpen: 15 } });
    await b.stop();
  });

  it("acknowledges a redelivered transition it handled already without notifying it again", async () => {
    const s = setup();
    const n = await s.start();
    s.feed.push(raised("d1", T0 + 10 * MIN));
    await s.feed.idle();
    s.feed.acked = 0; // the ack was lost: the same message again
    s.feed.push(raised("d2", T0 + 10 * MIN));
    await s.feed.idle();
    expect(s.http.got.map((x) => x.id)).toEqual(["d1/offline/1:1", "d2/offline/1:1"]);
    expect(n.stats().transitions).toBe(2);
    await n.stop();
  });
});
