import type { Clock, TimerHandle } from "../ports/clock.js";
import type { LockStore, SessionStore } from "../ports/leases.js";
import type { Log } from "../ports/log.js";
import { sleep, systemClock } from "../base/clock.js";
import { backoffMs } from "../base/backoff.js";
import { errorMessage } from "../base/errors.js";

/** Dependencies of a leader election. */
export interface LeaderDeps {
  readonly sessions: SessionStore;
  readonly locks: LockStore;
  readonly log: Log;
  readonly clock?: Clock;
  /** Told when this process becomes leader (true) or stops being leader (false), with why. */
  readonly onChange?: (leader: boolean, reason: string) => void;
}

/** Options of a leader election. */
export interface LeaderOptions {
  /** The KV key whose lock is the leadership, e.g. `shoal/reports/leader`. */
  readonly key: string;
  /** Session TTL, ms (Consul: 10 s..24 h). Renewed every TTL/3. */
  readonly ttlMs: number;
  /** Lock delay after the leader's session is invalidated, ms. Default 1000 (Consul's own 15 s would stall failover). */
  readonly lockDelayMs?: number;
  /** Session name and what the key holds, e.g. `shoal-reports node-1`. */
  readonly name: string;
  /** While the lock is free but cannot be taken (a lock delay in force), try again this often, ms. Default 500. */
  readonly retryMs?: number;
}

/** Counters of a leader election. */
export interface LeaderStats {
  readonly leader: boolean;
  readonly session: string | undefined;
  /** Times this process became leader. */
  readonly elections: number;
  /** Times it stopped being leader other than by close() (renew failed, lock lost). */
  readonly depositions: number;
  /** Consul calls that failed while campaigning. */
  readonly errors: number;
  /** When it last became leader (ms; 0 never). */
  readonly electedAtMs: number;
}

/** Work done while leader: runs until `signal` is aborted (deposed or closing), then settles. */
export type LeaderWork = (signal: AbortSignal) => Promise<void>;

/**
 * One leader among the processes campaigning on a key: a session (TTL, behavior delete, small
 * lock delay) renewed every TTL/3 and a lock on the key. The leader runs `work` with a signal that
 * is aborted as soon as leadership is in doubt — a renew that fails or says the session is gone,
 * or a watch of the key that shows another holder or none — and then campaigns again with a new
 * session. Followers wait on the key with blocking queries, so they try at once when it is freed:
 * a leader that closes releases the lock (no lock delay: taken over at once); a killed leader's
 * session is invalidated by Consul after TTL..2×TTL without renew, then the lock delay runs.
 */
export class LeaderElection {
  private readonly clock: Clock;
  private readonly lockDelayMs: number;
  private readonly retryMs: number;
  private readonly stop = new AbortController();
  private session: string | undefined;
  private leading: AbortController | undefined;
  private renewTimer: TimerHandle | undefined;
  private loop: Promise<void> = Promise.resolve();
  private stopped = false;
  private st = { elections: 0, depositions: 0, errors: 0, electedAtMs: 0 };

  private constructor(
    private readonly d: LeaderDeps,
    private readonly o: LeaderOptions,
    private readonly work: LeaderWork,
  ) {
    this.clock = d.clock ?? systemClock;
    this.lockDelayMs = o.lockDelayMs ?? 1000;
    this.retryMs = o.retryMs ?? 500;
  }

  /** Starts campaigning on `opts.key`; `work` runs whenever this process leads. */
  static start(deps: LeaderDeps, opts: LeaderOptions, work: LeaderWork): LeaderElection {
    if (!(opts.ttlMs >= 10_000)) throw new RangeError(`leader session ttlMs must be >= 10000 (Consul's minimum), got ${opts.ttlMs}`);
    const e = new LeaderElection(deps, opts, work);
    e.loop = e.run();
    return e;
  }

  isLeader(): boolean {
    return this.leading !== undefined && !this.leading.signal.aborted;
  }

  stats(): LeaderStats {
    return { leader: this.isLeader(), session: this.session, ...this.st };
  }

  /** Stops campaigning: the work is aborted and awaited, the lock released and the session destroyed. Idempotent. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stop.abort(new Error("leader election closed"));
    this.leading?.abort(new Error("leader election closed"));
    await this.loop;
    this.clearRenew();
    const session = this.session;
    this.session = undefined;
    if (session !== undefined) {
      await this.d.locks.release(this.o.key, session, "").catch(() => false);
      await this.d.sessions.destroy(session).catch(() => {});
    }
  }

  private async run(): Promise<void> {
    for (let attempt = 0; !this.stopped; ) {
      try {
        const session = this.session ?? (await this.newSession());
        if (this.stopped) return;
        const value = JSON.stringify({ name: this.o.name, session, atMs: this.clock.now() });
        if (await this.d.locks.acquire(this.o.key, session, value)) {
          await this.lead(session);
        } else {
          await this.waitForChange();
        }
        attempt = 0;
      } catch (e) {
        if (this.stopped) return;
        this.st.errors++;
        this.d.log.warn({ err: errorMessage(e), key: this.o.key }, "leader election: Consul call failed; trying again");
        await sleep(backoffMs(attempt++, 200, 5_000), this.clock, this.stop.signal).catch(() => {});
      }
    }
  }

  private async newSession(): Promise<string> {
    const id = await this.d.sessions.create({ name: this.o.name, ttlMs: this.o.ttlMs, behavior: "delete", lockDelayMs: this.lockDelayMs });
    this.session = id;
    this.scheduleRenew(id);
    return id;
  }

  private scheduleRenew(id: string): void {
    this.clearRenew();
    this.renewTimer = this.clock.setTimeout(() => void this.renew(id), Math.max(1, Math.floor(this.o.ttlMs / 3)));
  }

  private clearRenew(): void {
    if (this.renewTimer !== undefined) this.clock.clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
  }

  private async renew(id: string): Promise<void> {
    if (this.stopped || this.session !== id) return;
    let ok: boolean;
    let why = "session gone (expired or destroyed)";
    try {
      ok = await this.d.sessions.renew(id);
    } catch (e) {
      ok = false;
      why = `renew failed: ${errorMessage(e)}`;
    }
    if (this.stopped || this.session !== id) return;
    if (ok) {
      this.scheduleRenew(id);
      return;
    }
    // Leadership is in doubt: stop at once, give the session up, campaign with a new one.
    if (this.session === id) this.session = undefined;
    this.clearRenew();
    this.depose(why);
    void this.d.sessions.destroy(id).catch(() => {});
    this.d.log.warn({ key: this.o.key, session: id, reason: why }, "leader election: session not renewed");
  }

  private depose(reason: string): void {
    const l = this.leading;
    if (l === undefined || l.signal.aborted) return;
    if (!this.stopped) this.st.depositions++;
    l.abort(new Error(`deposed: ${reason}`));
  }

  /** Leads until deposed or closed; resolves once the work has settled and the lock is given back. */
  private async lead(session: string): Promise<void> {
    const ctrl = new AbortController();
    this.leading = ctrl;
    this.st.elections++;
    this.st.electedAtMs = this.clock.now();
    this.d.log.info({ key: this.o.key, session, name: this.o.name }, "leader election: elected");
    this.d.onChange?.(true, "elected");
    const work = this.work(ctrl.signal).then(
      () => "work ended",
      (e: unknown) => (ctrl.signal.aborted ? "work aborted" : `work failed: ${errorMessage(e)}`),
    );
    const reason = await Promise.race([this.watchLock(session, ctrl.signal), work]);
    if (!ctrl.signal.aborted) {
      if (reason === "lock lost") this.st.depositions++;
      ctrl.abort(new Error(`deposed: ${reason}`));
    }
    await work;
    const why = ctrl.signal.reason instanceof Error ? ctrl.signal.reason.message : reason;
    this.leading = undefined;
    this.d.log.info({ key: this.o.key, session, reason: why }, "leader election: no longer leader");
    this.d.onChange?.(false, why);
    // Give the lock back when the session is still ours (close() releases it too; a deposed
    // session was destroyed, which deletes the key).
    if (this.session === session && !this.stopped) {
      await this.d.locks.release(this.o.key, session, "").catch(() => false);
      await sleep(this.retryMs, this.clock, this.stop.signal).catch(() => {});
    }
  }

  /** Resolves "lock lost" when the key has another holder or none; never while this session holds it. */
  private async watchLock(session: string, signal: AbortSignal): Promise<string> {
    let index = 0;
    for (let attempt = 0; !signal.aborted; ) {
      try {
        const listing = await this.d.locks.list(this.o.key, { index, waitMs: Math.min(this.o.ttlMs, 30_000), signal });
        const entry = listing.entries.find((e) => e.key === this.o.key);
        if (entry?.session !== session) return "lock lost";
        index = listing.index < index ? 0 : listing.index;
        attempt = 0;
      } catch {
        if (signal.aborted) break;
        // Consul unreachable: the renew timer decides (it deposes when the session cannot be renewed).
        await sleep(backoffMs(attempt++, 200, 2_000), this.clock, signal).catch(() => {});
        index = 0;
      }
    }
    return "aborted";
  }

  /** A follower's wait: until the key changes (blocking query), or a short while when it is free but the lock delay holds it. */
  private async waitForChange(): Promise<void> {
    const now = await this.d.locks.list(this.o.key, { signal: this.stop.signal });
    const entry = now.entries.find((e) => e.key === this.o.key);
    if (entry?.session === undefined) {
      await sleep(this.retryMs, this.clock, this.stop.signal).catch(() => {});
      return;
    }
    await this.d.locks.list(this.o.key, { index: now.index, waitMs: Math.min(this.o.ttlMs, 30_000), signal: this.stop.signal });
  }
}
