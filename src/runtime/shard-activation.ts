import type { Clock } from "../ports/clock.js";
import type { ActorSnapshot, SnapshotKey } from "../ports/snapshot-store.js";
import type { ActorCell, CellQueue } from "./actor-cell.js";
import type { LatencyHistogram } from "./latency.js";
import type { ShardPassivation } from "./shard-passivation.js";
import type { ShardCounters, SnapshotOut } from "./shard-types.js";

/** Dependencies of a shard's activations. */
export interface ShardActivationDeps {
  readonly clock: Clock;
  /** Load snapshots of actors being activated (one call per batch of activations). */
  readonly load: (keys: SnapshotKey[]) => Promise<(ActorSnapshot | undefined)[]>;
  /** Retry delay after a failed load, ms. */
  readonly retryMs: number;
  readonly counters: ShardCounters;
  readonly latency: LatencyHistogram;
  /** Snapshots taken here and not yet handed to the host (the newest state of their actors). */
  readonly passivation: ShardPassivation;
  /** Run queue a ready actor with queued messages joins. */
  readonly runq: CellQueue;
  /** Called once a batch of activations finished (admit and run what waited). */
  readonly onLoaded: () => void;
}

/**
 * Activation of new cells: their snapshots are loaded in one call per batch (messages queue in
 * the meantime), restored, and the cells join the run queue. A failed load is retried.
 */
export class ShardActivation {
  /** Cells waiting for their snapshot load to start. */
  readonly toLoad: ActorCell[] = [];

  constructor(private readonly d: ShardActivationDeps) {}

  /** Load the snapshots of every cell in `toLoad`. */
  start(): void {
    const d = this.d;
    let cells = this.toLoad.splice(0);
    const snaps = d.passivation.snaps;
    if (snaps.length > 0) {
      // A snapshot taken here (passivation) but not yet handed to the host is the newest state.
      const own = new Map<ActorCell["self"]["type"], Map<string, SnapshotOut>>();
      for (const sn of snaps) {
        let m = own.get(sn.actorType);
        if (m === undefined) own.set(sn.actorType, (m = new Map()));
        m.set(sn.actorId, sn);
      }
      cells = cells.filter((c) => {
        const sn = own.get(c.logic.type)?.get(c.id);
        if (sn === undefined) return true;
        this.activate(c, sn.snapshot);
        return false;
      });
      if (cells.length === 0) return;
    }
    const keys = cells.map((c) => ({ actorType: c.logic.type, actorId: c.id }));
    d.load(keys).then(
      (loaded) => {
        for (let i = 0; i < cells.length; i++) this.activate(cells[i]!, loaded[i]);
        d.onLoaded();
      },
      () => {
        // Store unavailable: keep the messages queued (bounded) and retry with backoff.
        d.counters.loadFailures++;
        d.clock.setTimeout(() => {
          for (const c of cells) if (c.live) this.toLoad.push(c);
          d.onLoaded();
        }, d.retryMs);
      },
    );
  }

  private activate(c: ActorCell, snap: ActorSnapshot | undefined): void {
    if (!c.live) return;
    try {
      if (snap !== undefined) {
        c.state = c.logic.restore(snap.state, c.id);
        c.streamSeq = snap.streamSeq;
      } else {
        c.state = c.logic.initial(c.id);
      }
    } catch (err) {
      // A corrupt snapshot must not wedge the actor: dead-letter its queue and start fresh.
      c.state = c.logic.initial(c.id);
      this.d.counters.loadFailures++;
      void err;
    }
    c.ready = true;
    this.d.counters.activations++;
    this.d.latency.record((this.d.clock.now() - c.activatedAt) * 1000);
    if (c.depth > 0 && !c.queued) {
      c.queued = true;
      this.d.runq.push(c);
    }
  }
}
