import { describe, expect, it } from "vitest";
import { SimClock } from "../base/testing/sim-clock.js";
import type { LockEntry, LockStore, SessionStore } from "../ports/leases.js";
import { LeaderElection } from "./leader-election.js";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Consul's sessions and locks as the election uses them (behavior delete, lock delay), on a simulated clock. */
function memoryConsul(clock: SimClock) {
  let index = 1;
  let seq = 0;
  const sessions = new Map<string, { lockDelayMs: number }>();
  const keys = new Map<string, { session?: string; value: string; lockIndex: number; modifyIndex: number }>();
  const delayedUntil = new Map<string, number>();
  let waiters: Array<() => void> = [];
  let renewFails = false;
  const changed = () => {
    index++;
    for (const w of waiters.splice(0)) w();
  };
  const invalidate = (id: string) => {
    const s = sessions.get(id);
    if (s === undefined) return;
    sessions.delete(id);
    for (const [k, v] of keys) {
      if (v.session !== id) continue;
      keys.delete(k);
      delayedUntil.set(k, clock.now() + s.lockDelayMs);
    }
    changed();
  };
  const sessionStore: SessionStore = {
    async create(o) {
      const id = `s${++seq}`;
      sessions.set(id, { lockDelayMs: o.lockDelayMs ?? 15_000 });
      return id;
    },
    async renew(id) {
      if (renewFails) throw new Error("consul unreachable");
      return sessions.has(id);
    },
    async destroy(id) {
      invalidate(id);
    },
    async list() {
      return [...sessions.keys()].map((id) => ({ id, name: id }));
    },
    close() {},
  };
  const lockStore: LockStore = {
    async acquire(key, session, value) {
      const cur = keys.get(key);
      if (!sessions.has(session) || (cur?.session !== undefined && cur.session !== session) || (delayedUntil.get(key) ?? 0) > clock.now()) return false;
      keys.set(key, { session, value, lockIndex: (cur?.lockIndex ?? 0) + (cur?.session === session ? 0 : 1), modifyIndex: index + 1 });
      changed();
      return true;
    },
    async release(key, session) {
      const cur = keys.get(key);
      if (cur?.session !== session) return false;
      keys.set(key, { ...cur, session: undefined, modifyIndex: index + 1 });
      changed();
      return true;
    },
    async list(prefix, opts = {}) {
      if (opts.index !== undefined && opts.index > 0 && opts.index >= index) {
        await new Promise<void>((resolve, reject) => {
          if (opts.signal?.aborted) return reject(Object.assign(new Error("aborted"), { reason: "aborted" }));
          waiters.push(resolve);
          opts.signal?.addEventListener("abort", () => {
            waiters = waiters.filter((w) => w !== resolve);
            reject(Object.assign(new Error("aborted"), { reason: "aborted" }));
          });
        });
      }
      const entries: LockEntry[] = [...keys].filter(([k]) => k.startsWith(prefix)).map(([key, v]) => ({ key, value: v.value, ...(v.session ? { session: v.session } : {}), modifyIndex: v.modifyIndex, lockIndex: v.lockIndex }));
      return { entries, index };
    },
    async put() {},
    async del(key) {
      keys.delete(key);
      changed();
    },
    close() {},
  };
  return { sessions: sessionStore, locks: lockStore, invalidate, holder: (k: string) => keys.get(k)?.session, failRenews: (f: boolean) => (renewFails = f) };
}

/** A candidate whose work records its leadership spans and the reason it was stopped. */
function candidate(name: string, consul: ReturnType<typeof memoryConsul>, clock: SimClock, events: string[]) {
  const aborted: string[] = [];
  const e = LeaderElection.start(
    { sessions: consul.sessions, locks: consul.locks, log: quiet, clock, onChange: (leader, reason) => events.push(`${name} ${leader ? "leads" : `stops (${reason})`}`) },
    { key: "shoal/reports/leader", ttlMs: 10_000, lockDelayMs: 1_000, name },
    (signal) =>
      new Promise<void>((resolve) =>
        signal.addEventListener("abort", () => {
          aborted.push((signal.reason as Error).message);
          resolve();
        }),
      ),
  );
  return { e, aborted };
}

describe("LeaderElection", () => {
  it("elects one of two candidates; the other takes over at once when the leader closes (the lock is released)", async () => {
    const clock = new SimClock();
    const consul = memoryConsul(clock);
    const events: string[] = [];
    const a = candidate("a", consul, clock, events);
    await clock.advance(0);
    const b = candidate("b", consul, clock, events);
    await clock.advance(30_000); // renewals keep both sessions alive
    expect([a.e.isLeader(), b.e.isLeader()]).toEqual([true, false]);
    expect(events).toEqual(["a leads"]);
    await a.e.close();
    await clock.advance(0);
    expect(b.e.isLeader()).toBe(true);
    expect(events).toEqual(["a leads", "a stops (leader election closed)", "b leads"]);
    expect(a.aborted).toEqual(["leader election closed"]);
    expect(a.e.stats()).toMatchObject({ elections: 1, depositions: 0 });
    await b.e.close();
    expect(consul.holder("shoal/reports/leader")).toBeUndefined();
  });

  it("a leader whose session Consul invalidated is deposed at once; the follower leads after the lock delay", async () => {
    const clock = new SimClock();
    const consul = memoryConsul(clock);
    const events: string[] = [];
    const a = candidate("a", consul, clock, events);
    await clock.advance(0);
    const b = candidate("b", consul, clock, events);
    await clock.advance(0);
    consul.invalidate(a.e.stats().session!); // what Consul does TTL..2×TTL after a SIGKILL
    await clock.advance(0);
    expect(a.aborted).toEqual(["deposed: lock lost"]);
    expect(b.e.isLeader()).toBe(false); // lock delay in force
    await clock.advance(1_000);
    expect(b.e.isLeader()).toBe(true);
    expect(events.slice(0, 3)).toEqual(["a leads", "a stops (deposed: lock lost)", "b leads"]);
    expect(a.e.stats()).toMatchObject({ leader: false, depositions: 1 });
    await Promise.all([a.e.close(), b.e.close()]);
  });

  it("a leader that cannot renew stops at once (its work is aborted) and campaigns again with a new session", async () => {
    const clock = new SimClock();
    const consul = memoryConsul(clock);
    const events: string[] = [];
    const a = candidate("a", consul, clock, events);
    await clock.advance(0);
    const first = a.e.stats().session;
    consul.failRenews(true);
    await clock.advance(3_333); // the first renew (TTL/3) fails
    expect(a.aborted).toEqual(["deposed: renew failed: consul unreachable"]);
    expect(a.e.isLeader()).toBe(false);
    consul.failRenews(false);
    await clock.advance(2_000); // the lock delay of the destroyed session passes
    expect(a.e.isLeader()).toBe(true);
    expect(a.e.stats()).toMatchObject({ elections: 2, depositions: 1 });
    expect(a.e.stats().session).not.toBe(first);
    await a.e.close();
  });
});
