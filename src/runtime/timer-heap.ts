/** A named actor timer. `due` is authoritative; `heapDue` is its key in the heap (lazy re-arm). */
export interface TimerRec {
  readonly actorType: string;
  readonly actorId: string;
  readonly name: string;
  msg: unknown;
  /** When it fires, ms; -1 once cancelled or fired. */
  due: number;
  heapDue: number;
  heapIdx: number;
}

/**
 * Min-heap of timers keyed by `heapDue`. Re-arming a timer later (the common heartbeat case) only
 * writes `due`; the entry is re-keyed when it surfaces. Re-arming earlier decreases the key.
 */
export class TimerHeap {
  private readonly heap: TimerRec[] = [];

  get size(): number {
    return this.heap.length;
  }

  /** Earliest heap key, or Infinity. */
  peekDue(): number {
    return this.heap.length > 0 ? this.heap[0]!.heapDue : Infinity;
  }

  /** Insert, or move earlier if already present with a later key. */
  schedule(rec: TimerRec): void {
    if (rec.heapIdx >= 0) {
      if (rec.due < rec.heapDue) {
        rec.heapDue = rec.due;
        this.up(rec.heapIdx);
      }
      return;
    }
    rec.heapDue = rec.due;
    rec.heapIdx = this.heap.length;
    this.heap.push(rec);
    this.up(rec.heapIdx);
  }

  /** Pop timers whose real `due` is <= now; re-keys entries re-armed later; drops cancelled. */
  popDue(now: number, out: TimerRec[]): void {
    while (this.heap.length > 0 && this.heap[0]!.heapDue <= now) {
      const top = this.heap[0]!;
      if (top.due < 0) {
        this.removeTop();
      } else if (top.due > now) {
        top.heapDue = top.due;
        this.down(0);
      } else {
        this.removeTop();
        out.push(top);
      }
    }
  }

  private removeTop(): void {
    const top = this.heap[0]!;
    top.heapIdx = -1;
    const last = this.heap.pop()!;
    if (last !== top) {
      this.heap[0] = last;
      last.heapIdx = 0;
      this.down(0);
    }
  }

  private up(i: number): void {
    const h = this.heap;
    const rec = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (parent.heapDue <= rec.heapDue) break;
      h[i] = parent;
      parent.heapIdx = i;
      i = p;
    }
    h[i] = rec;
    rec.heapIdx = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const rec = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]!.heapDue < h[l]!.heapDue ? r : l;
      const child = h[c]!;
      if (child.heapDue >= rec.heapDue) break;
      h[i] = child;
      child.heapIdx = i;
      i = c;
    }
    h[i] = rec;
    rec.heapIdx = i;
  }
}
