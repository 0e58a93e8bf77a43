import type { ActorAddress, ActorLogic } from "../ports/actor.js";
import type { TimerRec } from "./timer-heap.js";

/** Any actor logic, as the runtime sees it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyLogic = ActorLogic<any, { readonly type: string }>;

/**
 * The in-memory activation of one virtual actor. Mailbox slots live in the worker's MailboxArena
 * (head/tail/depth here); prev/next link the cell into the worker's LRU list.
 */
export class ActorCell {
  state: unknown = undefined;
  /** State restored/initialised; until then messages queue but do not run. */
  ready = false;
  /** Waiting out a supervision backoff. */
  backoff = false;
  /** In the run queue. */
  queued = false;
  /** Still in the worker's maps (false once passivated). */
  live = true;
  head = -1;
  tail = -1;
  depth = 0;
  /** Consecutive failures of the head message. */
  attempts = 0;
  /** Highest journal stream seq applied. */
  streamSeq = 0;
  /** Lowest journal stream seq applied since the last snapshot (0 = none). */
  dirtyFrom = 0;
  /** State changed since the last snapshot. */
  dirty = false;
  /** Listed in the worker's dirty list. */
  inDirtyList = false;
  dirtyAt = 0;
  sinceSnap = 0;
  lastUsed = 0;
  activatedAt = 0;
  prev: ActorCell | null = null;
  next: ActorCell | null = null;
  timers: TimerRec[] | null = null;
  readonly self: ActorAddress;

  constructor(
    readonly logic: AnyLogic,
    readonly id: string,
    readonly partition: number,
  ) {
    this.self = { type: logic.type, id };
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
