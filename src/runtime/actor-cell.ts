import type { ActorAddress, ActorLogic } from "../ports/actor.js";
import type { TimerRec } from "./timer-heap.js";

/** Any actor logic, as the runtime sees it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyLogic = ActorLogic<any, { readonly type: string }>;

// Bits of ActorCell.flags.
const READY = 1;
const BACKOFF = 2;
const QUEUED = 4;
const LIVE = 8;
const DIRTY = 16;
const IN_DIRTY_LIST = 32;

/**
 * The in-memory activation of one virtual actor. Mailbox slots live in the worker's MailboxArena
 * (head/tail/depth here); prev/next link the cell into the worker's LRU list. There is one cell per
 * active actor (a million per process is the design point), so it is kept small: the booleans share
 * one integer (behind accessors), and the actor's address is built only when asked for.
 */
export class ActorCell {
  state: unknown = undefined;
  private flags = LIVE;
  head = -1;
  tail = -1;
  depth = 0;
  /** Consecutive failures of the head message. */
  attempts = 0;
  /** Highest journal stream seq applied. */
  streamSeq = 0;
  /** Lowest journal stream seq applied since the last snapshot (0 = none). */
  dirtyFrom = 0;
  dirtyAt = 0;
  sinceSnap = 0;
  lastUsed = 0;
  activatedAt = 0;
  prev: ActorCell | null = null;
  next: ActorCell | null = null;
  /** Its timers: none, one (the common heartbeat case), or several. */
  timers: TimerRec | TimerRec[] | null = null;

  constructor(
    readonly logic: AnyLogic,
    readonly id: string,
    readonly partition: number,
  ) {}

  /** The actor's address (a new object per call: not on any per-message path). */
  get self(): ActorAddress {
    return { type: this.logic.type, id: this.id };
  }

  private flag(bit: number, on: boolean): void {
    this.flags = on ? this.flags | bit : this.flags & ~bit;
  }

  /** State restored/initialised; until then messages queue but do not run. */
  get ready(): boolean {
    return (this.flags & READY) !== 0;
  }
  set ready(v: boolean) {
    this.flag(READY, v);
  }
  /** Waiting out a supervision backoff. */
  get backoff(): boolean {
    return (this.flags & BACKOFF) !== 0;
  }
  set backoff(v: boolean) {
    this.flag(BACKOFF, v);
  }
  /** In the run queue. */
  get queued(): boolean {
    return (this.flags & QUEUED) !== 0;
  }
  set queued(v: boolean) {
    this.flag(QUEUED, v);
  }
  /** Still in the worker's maps (false once passivated). */
  get live(): boolean {
    return (this.flags & LIVE) !== 0;
  }
  set live(v: boolean) {
    this.flag(LIVE, v);
  }
  /** State changed since the last snapshot. */
  get dirty(): boolean {
    return (this.flags & DIRTY) !== 0;
  }
  set dirty(v: boolean) {
    this.flag(DIRTY, v);
  }
  /** Listed in the worker's dirty list. */
  get inDirtyList(): boolean {
    return (this.flags & IN_DIRTY_LIST) !== 0;
  }
  set inDirtyList(v: boolean) {
    this.flag(IN_DIRTY_LIST, v);
  }
}

/** Intrusive doubly linked LRU list: head = most recently used. O(1) touch, no allocation. */
export class LruList {
  head: ActorCell | null = null;
  tail: ActorCell | null = null;
  size = 0;

  pushFront(c: ActorCell): void {
    c.prev = null;
    c.next = this.head;
    if (this.head !== null) this.head.prev = c;
    this.head = c;
    if (this.tail === null) this.tail = c;
    this.size++;
  }

  remove(c: ActorCell): void {
    if (c.prev !== null) c.prev.next = c.next;
    else this.head = c.next;
    if (c.next !== null) c.next.prev = c.prev;
    else this.tail = c.prev;
    c.prev = null;
    c.next = null;
    this.size--;
  }

  touch(c: ActorCell): void {
    if (this.head === c) return;
    this.remove(c);
    this.pushFront(c);
  }
}

/** Growable FIFO of cells (ring buffer, power-of-two capacity). */
export class CellQueue {
  private buf: (ActorCell | null)[] = new Array<ActorCell | null>(64).fill(null);
  private h = 0;
  private n = 0;

  get length(): number {
    return this.n;
  }

  push(c: ActorCell): void {
    if (this.n === this.buf.length) this.grow();
    this.buf[(this.h + this.n) & (this.buf.length - 1)] = c;
    this.n++;
  }

  shift(): ActorCell | null {
    if (this.n === 0) return null;
    const c = this.buf[this.h]!;
    this.buf[this.h] = null;
    this.h = (this.h + 1) & (this.buf.length - 1);
    this.n--;
    return c;
  }

  private grow(): void {
    const old = this.buf;
    const next = new Array<ActorCell | null>(old.length * 2).fill(null);
    for (let i = 0; i < this.n; i++) next[i] = old[(this.h + i) & (old.length - 1)]!;
    this.buf = next;
    this.h = 0;
  }
}
