/**
 * Per-worker message store for all mailboxes: fixed capacity, preallocated, free list, no
 * allocation per message. Each actor's mailbox is a singly linked list of slots (head/tail/depth
 * live on the actor cell). The arena capacity bounds the messages a worker holds in memory.
 */
export class MailboxArena<B> {
  readonly msgs: unknown[];
  readonly seqs: Float64Array;
  readonly batches: (B | null)[];
  readonly next: Int32Array;
  private freeHead: number;
  private used = 0;

  constructor(readonly capacity: number) {
    this.msgs = new Array<unknown>(capacity).fill(null);
    this.batches = new Array<B | null>(capacity).fill(null);
    this.seqs = new Float64Array(capacity);
    this.next = new Int32Array(capacity);
    for (let i = 0; i < capacity - 1; i++) this.next[i] = i + 1;
    this.next[capacity - 1] = -1;
    this.freeHead = capacity > 0 ? 0 : -1;
  }

  /** Slots in use. */
  get size(): number {
    return this.used;
  }

  /** Free slots. */
  get free(): number {
    return this.capacity - this.used;
  }

  /** Take a slot (caller checked `free > 0`); returns its index. */
  alloc(msg: unknown, seq: number, batch: B | null): number {
    const i = this.freeHead;
    if (i < 0) throw new Error("mailbox arena exhausted");
    this.freeHead = this.next[i]!;
    this.next[i] = -1;
    this.msgs[i] = msg;
    this.seqs[i] = seq;
    this.batches[i] = batch;
    this.used++;
    return i;
  }

  /** Return a slot to the free list (drops references so messages can be collected). */
  release(i: number): void {
    this.msgs[i] = null;
    this.batches[i] = null;
    this.next[i] = this.freeHead;
    this.freeHead = i;
    this.used--;
  }
}
