import type { LockStore, SessionStore } from "../ports/leases.js";
import { decodeCluster, memberKey, partitionKey, viewOf, type ClusterLayout, type ClusterSnapshot, type LeaseEvent, type LeaseRecord, type MemberRecord } from "./layout.js";
import { leaseOptions, type LeaseOptions } from "./options.js";
import type { PartitionJournal, PartitionLag } from "../ports/partition-journal.js";
import { planStep, type Plan } from "./planner.js";
import { sleep } from "../base/clock.js";
import { ShoalError } from "../base/errors.js";

/** What the lease manager drives: the runtime role's partition pumps. */
export interface PartitionOwner {
  /** Start pulling partition p (the lease is held). */
  acquire(p: number): Promise<void>;
  /** Stop pulling p, wait until every delivered batch is durable and acked, forget its actors. */
  release(p: number): Promise<void>;
}

/** Minimal structured logger (pino-compatible). */
export interface ClusterLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Dependencies of a lease manager. */
export interface LeaseDeps {
  readonly locks: LockStore;
  readonly sessions: SessionStore;
  readonly journal: PartitionJournal;
  readonly owner: PartitionOwner;
  readonly layout: ClusterLayout;
  readonly log: ClusterLogger;
  /** Told about every lock history event (after it was written to Consul). */
  readonly onEvent?: (e: LeaseEvent) => void;
  /** Wall clock, ms. Default Date.now. */
  readonly now?: () => number;
}

/** What `status()` tells about this node. */
export interface LeaseStatus {
  readonly node: string;
  readonly session: string | undefined;
  /** Partitions held and being pulled. */
  readonly owned: readonly number[];
  /** Partitions the plan assigns to this node. */
  readonly target: readonly number[];
  /** Partitions being acquired or handed off right now. */
  readonly moving: readonly number[];
  /** Partitions anywhere in the cluster not yet with their target (0 = converged). */
  readonly misplaced: number;
  readonly leaving: boolean;
  /** Last lag read of each owned partition. */
  readonly lag: readonly PartitionLag[];
}

/**
 * One node's side of the cluster: a Consul session (TTL, behavior delete, small lock delay) that
 * holds the node's member key and the leases `partitions/<p>` it owns. It watches the cluster tree
 * with blocking queries and applies its own lines of {@link planStep}: acquire a free partition it is
 * the target of (lock, count what the previous owner left unacked, record, start pulling: the owner
 * rewinds the consumer itself), release one it must hand off (stop pulling and drain through the
 * runtime, record, unlock). It renews the
 * session every TTL/3; when Consul says the session is gone it stops pulling everything at once
 * (fencing) and joins again with a new session. Every lease change is written to the lock history.
 */
export class LeaseManager {
  private readonly o: LeaseOptions;
  private readonly now: () => number;
  private session: string | undefined;
  private readonly owned = new Set<number>();
  private readonly busy = new Map<number, Promise<unknown>>();
  private readonly lags = new Map<number, PartitionLag>();
  private snap: ClusterSnapshot | undefined;
  private plan: Plan | undefined;
  private leaving = false;
  private stopped = false;
  private wake = new AbortController();
  private loop: Promise<void> | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private lagTimer: NodeJS.Timeout | undefined;
  private lastRenewOkMs = 0;
  private readonly startedAtMs: number;

  private constructor(private readonly d: LeaseDeps, o: LeaseOptions) {
    this.o = o;
    this.now = d.now ?? Date.now;
    this.startedAtMs = this.now();
  }

  /** Joins the cluster (session + member key) and starts the reconcile loop. */
  static async create(deps: LeaseDeps, opts: Pick<LeaseOptions, "nodeId" | "partitions"> & Partial<LeaseOptions>): Promise<LeaseManager> {
    const m = new LeaseManager(deps, leaseOptions(opts));
    await m.join();
    m.loop = m.run();
    m.renewTimer = setInterval(() => void m.renew(), Math.floor(m.o.sessionTtlMs / 3));
    m.lagTimer = setInterval(() => void m.pollLag(), m.o.lagPollMs);
    return m;
  }

  /** This node's id. */
  get nodeId(): string {
    return this.o.nodeId;
  }

  /**
   * Ready: the session is live, the node is not leaving, it owns every partition the plan assigns
   * to it, and each owned partition is caught up (at most `readyLag` undelivered messages at the
   * last lag read). The status server's /readyz answers from this.
   */
  ready(): boolean {
    if (this.session === undefined || this.leaving || this.stopped || this.plan === undefined) return false;
    for (let p = 0; p < this.o.partitions; p++) if (this.plan.target[p] === this.o.nodeId && !this.owned.has(p)) return false;
    for (const p of this.owned) {
      const lag = this.lags.get(p);
      if (lag === undefined || lag.pending > this.o.readyLag) return false;
    }
    return true;
  }

  status(): LeaseStatus {
    const target: number[] = [];
    if (this.plan) for (let p = 0; p < this.o.partitions; p++) if (this.plan.target[p] === this.o.nodeId) target.push(p);
    return {
      node: this.o.nodeId,
      session: this.session,
      owned: [...this.owned].sort((a, b) => a - b),
      target,
      moving: [...this.busy.keys()].sort((a, b) => a - b),
      misplaced: this.plan?.misplaced ?? this.o.partitions,
      leaving: this.leaving,
      lag: [...this.lags.values()].sort((a, b) => a.partition - b.partition),
    };
  }

  /**
   * Graceful leave (SIGTERM): mark the member leaving so the others take over, hand partitions off
   * in bounded steps, and after `leaveTimeoutMs` (or when no other member can take them) release the
   * rest at once. Then destroy the session. Resolves when nothing is owned any more.
   */
  async leave(): Promise<void> {
    if (this.stopped) return;
    this.leaving = true;
    await this.writeMember().catch((e: unknown) => this.d.log.warn({ err: (e as Error).message }, "cluster: could not mark member leaving"));
    this.kick();
    const deadline = this.now() + this.o.leaveTimeoutMs;
    while (this.owned.size + this.busy.size > 0 && this.now() < deadline) {
      const others = this.snap?.members.some((m) => m.node !== this.o.nodeId && !m.leaving && !m.drained) ?? false;
      if (!others) break;
      await sleep(100);
    }
    await this.close();
  }

  /** Stops pulling everything (each partition drained and released), destroys the session. Idempotent. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.renewTimer);
    clearInterval(this.lagTimer);
    this.kick();
    await this.loop;
    await Promise.allSettled([...this.busy.values()]);
    await Promise.allSettled([...this.owned].map((p) => this.releaseOne(p)));
    if (this.session !== undefined) await this.d.sessions.destroy(this.session).catch(() => {});
    this.session = undefined;
  }

  private kick(): void {
    this.wake.abort();
  }

  private async join(): Promise<void> {
    for (;;) {
      const session = await this.d.sessions.create({ name: `shoal-runtime ${this.o.nodeId}`, ttlMs: this.o.sessionTtlMs, behavior: "delete", lockDelayMs: this.o.lockDelayMs });
      this.session = session;
      this.lastRenewOkMs = this.now();
      if (await this.writeMember()) {
        this.d.log.info({ node: this.o.nodeId, session }, "cluster: joined");
        return;
      }
      // A previous incarnation of this node id still holds the member key: wait for its session to expire.
      await this.d.sessions.destroy(session).catch(() => {});
      this.session = undefined;
      this.d.log.warn({ node: this.o.nodeId }, "cluster: member key held by another session; retrying");
      if (this.stopped) throw new ShoalError("cluster: closed while joining", { code: "closed", retryable: false });
      await sleep(this.o.pollMs);
    }
  }

  private async writeMember(): Promise<boolean> {
    if (this.session === undefined) return false;
    const rec: MemberRecord = { node: this.o.nodeId, session: this.session, startedAtMs: this.startedAtMs, pid: process.pid, leaving: this.leaving };
    return this.d.locks.acquire(memberKey(this.d.layout, this.o.nodeId), this.session, JSON.stringify(rec));
  }

  private async renew(): Promise<void> {
    const session = this.session;
    if (session === undefined || this.stopped) return;
    try {
      if (await this.d.sessions.renew(session)) {
        this.lastRenewOkMs = this.now();
        return;
      }
      this.d.log.warn({ node: this.o.nodeId, session }, "cluster: session expired; fencing and rejoining");
      await this.fence("session expired");
      if (!this.stopped) await this.join();
      this.kick();
    } catch (e) {
      // Consul unreachable: after a TTL without a renew our leases may already be someone else's.
      if (this.now() - this.lastRenewOkMs > this.o.sessionTtlMs && this.owned.size > 0) {
        this.d.log.warn({ node: this.o.nodeId, err: (e as Error).message }, "cluster: no session renew for a TTL; fencing");
        await this.fence("renew failed for a TTL");
      }
    }
  }

  /** Stop pulling every owned partition without touching Consul (the leases are gone or doubtful). */
  private async fence(reason: string): Promise<void> {
    const session = this.session ?? "";
    await Promise.allSettled([...this.busy.values()]);
    await Promise.allSettled(
      [...this.owned].map(async (p) => {
        this.owned.delete(p);
        this.lags.delete(p);
        await this.d.owner.release(p);
        await this.record({ partition: p, node: this.o.nodeId, session, event: "lost", atMs: this.now(), modifyIndex: 0, lockIndex: 0 });
      }),
    );
    this.d.log.warn({ node: this.o.nodeId, reason }, "cluster: fenced");
  }

  private async run(): Promise<void> {
    let index = 0;
    while (!this.stopped) {
      if (this.wake.signal.aborted) this.wake = new AbortController();
      try {
        const listing = await this.d.locks.list(`${this.d.layout.root}/`, { index, waitMs: this.o.pollMs, signal: this.wake.signal });
        index = listing.index < index ? 0 : listing.index;
        this.snap = decodeCluster(this.d.layout, this.o.partitions, listing.entries, listing.index);
        this.reconcile(this.snap);
      } catch (e) {
        if ((e as { reason?: string }).reason === "aborted") {
          index = 0; // re-read at once
          continue;
        }
        this.d.log.warn({ err: (e as Error).message }, "cluster: watch failed; retrying");
        await sleep(1000);
        index = 0;
      }
    }
  }

  private reconcile(snap: ClusterSnapshot): void {
    if (this.session === undefined || this.stopped) return;
    const me = this.o.nodeId;
    const plan = planStep(viewOf(snap, this.o.partitions), this.o.maxMoves);
    this.plan = plan;
    for (const a of plan.acquire) if (a.node === me) this.act(a.partition, () => this.acquireOne(a.partition));
    for (const r of plan.release) if (r.node === me && this.owned.has(r.partition)) this.act(r.partition, () => this.releaseOne(r.partition));
    for (let p = 0; p < this.o.partitions; p++) {
      const holder = snap.owners[p];
      if (holder === me && !this.owned.has(p)) {
        // Our session holds it but we do not pull it (after a fence whose session survived, or a restart of the manager).
        if (plan.target[p] === me) this.act(p, () => this.acquireOne(p));
        else this.act(p, () => this.unlock(p));
      } else if (holder !== me && this.owned.has(p) && !this.busy.has(p)) {
        // We pull it but no longer hold its lease: stop at once.
        this.act(p, async () => {
          this.owned.delete(p);
          this.lags.delete(p);
          await this.d.owner.release(p);
          await this.record({ partition: p, node: me, session: this.session ?? "", event: "lost", atMs: this.now(), modifyIndex: 0, lockIndex: 0 });
        });
      }
    }
  }

  /** Runs a move of partition p (one at a time per partition); re-plans at once after a change, else at the next poll. */
  private act(p: number, f: () => Promise<boolean | void>): void {
    if (this.busy.has(p) || this.stopped) return;
    const run = f()
      .then((changed) => changed !== false)
      .catch((e: unknown) => {
        this.d.log.warn({ partition: p, err: (e as Error).message }, "cluster: partition move failed; will retry");
        return false;
      })
      .then((changed) => {
        this.busy.delete(p);
        // A lost race or a lock delay in force changes nothing: retrying at once would spin on Consul.
        if (changed) this.kick();
      });
    this.busy.set(p, run);
  }

  /** Resolves false when the lock could not be taken (held by another session, or a lock delay in force). */
  private async acquireOne(p: number): Promise<boolean> {
    const session = this.session;
    if (session === undefined || this.leaving) return false;
    const key = partitionKey(this.d.layout, p);
    const rec: LeaseRecord = { node: this.o.nodeId, session, atMs: this.now() };
    if (!(await this.d.locks.acquire(key, session, JSON.stringify(rec)))) return false;
    const after = (await this.d.locks.list(key)).entries.find((e) => e.key === key);
    if (after?.session !== session) return false;
    try {
      const rewound = await this.d.journal.rewind(p);
      if (rewound < 0) this.d.log.warn({ partition: p }, "cluster: the partition's consumer was missing (its previous owner died mid-rewind); re-created from the start of the journal");
      await this.record({ partition: p, node: this.o.nodeId, session, event: "acquired", atMs: this.now(), modifyIndex: after.modifyIndex, lockIndex: after.lockIndex, rewound });
      this.owned.add(p);
      await this.d.owner.acquire(p);
      return true;
    } catch (e) {
      if (this.owned.delete(p)) {
        await this.d.owner.release(p).catch(() => {});
        await this.record({ partition: p, node: this.o.nodeId, session, event: "released", atMs: this.now(), modifyIndex: 0, lockIndex: 0 });
      }
      await this.d.locks.release(key, session).catch(() => {});
      throw e;
    }
  }

  private async releaseOne(p: number): Promise<void> {
    const session = this.session ?? "";
    this.owned.delete(p);
    this.lags.delete(p);
    await this.d.owner.release(p);
    await this.record({ partition: p, node: this.o.nodeId, session, event: "released", atMs: this.now(), modifyIndex: 0, lockIndex: 0 });
    await this.unlock(p);
  }

  private async unlock(p: number): Promise<void> {
    if (this.session === undefined) return;
    const rec: LeaseRecord = { node: this.o.nodeId, session: this.session, atMs: this.now() };
    await this.d.locks.release(partitionKey(this.d.layout, p), this.session, JSON.stringify(rec));
  }

  private async record(e: LeaseEvent): Promise<void> {
    const key = `${this.d.layout.historyRoot}/${e.partition}/${String(e.atMs).padStart(15, "0")}-${e.node}-${e.event}`;
    this.d.log.info({ lease: e }, `cluster: partition ${e.partition} ${e.event}`);
    await this.d.locks.put(key, JSON.stringify(e)).catch((err: unknown) => this.d.log.warn({ err: (err as Error).message }, "cluster: could not write lock history"));
    this.d.onEvent?.(e);
  }

  private async pollLag(): Promise<void> {
    for (const p of [...this.owned]) {
      try {
        const lag = await this.d.journal.lag(p);
        if (this.owned.has(p)) this.lags.set(p, lag);
      } catch {
        // transient; the next poll retries
      }
    }
  }
}


