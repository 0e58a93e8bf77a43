/**
 * Where device actors' metric blocks live (docs/adr/0008-device-actor-memory.md, "arena"): 1 MiB
 * slabs shared by every actor of one logic instance (one per worker thread), carved into blocks by
 * size class and reused through free lists. An actor holds the slab's views and its block's offset
 * instead of owning an ArrayBuffer: a per-actor ArrayBuffer with its two views costs ~270 B of heap
 * and ~200 B of native bookkeeping (backing store, extension, malloc headers) per actor, more than a
 * young metric's whole rolling window. Blocks are returned when the runtime disposes of an actor's
 * state (ActorLogic.dispose: passivation, partition drop); a missed return leaks a block, it never
 * corrupts one (a block is only reused after it was freed). Pure data structure; no I/O.
 */

/** Float64 slots per slab (1 MiB). */
export const SLAB_UNITS = 1 << 17;
/** Blocks larger than this get a slab of their own (not pooled; collected with the actor). */
const MAX_POOLED = SLAB_UNITS >>> 2;

/** Views of no block (shared, never written). */
export const EMPTY_F64 = new Float64Array(0);
export const EMPTY_F32 = new Float32Array(0);

/** A block's location: the views of its slab and its first float64 slot there. */
export interface BlockRef {
  f64: Float64Array;
  f32: Float32Array;
  /** f64 index of the block's first slot (its f32 index is twice that). */
  base: number;
  /** Float64 slots the block spans (its size class; 0 = no block). */
  units: number;
}

/** Size class of a request of `units` float64 slots: multiples of 8 slots (64 B), 64 above 1,024. */
export function sizeClass(units: number): number {
  if (units <= 0) return 0;
  return units <= 1024 ? (units + 7) & ~7 : (units + 63) & ~63;
}

/** Counters of an arena, for introspection and the memory benchmark. */
export interface ArenaStats {
  readonly slabs: number;
  readonly blocks: number;
  readonly unitsInUse: number;
  readonly unitsFree: number;
}

export class MetricArena {
  /** Slabs by index; null once dropped (every block of it free again). */
  private readonly slabs: ({ readonly f64: Float64Array; readonly f32: Float32Array; live: number } | null)[] = [];
  private liveSlabs = 0;
  private readonly slabIndex = new Map<Float64Array, number>();
  /** Free blocks per size class, as slab · SLAB_UNITS + base. */
  private readonly free = new Map<number, number[]>();
  /** Bump pointer in the last slab. */
  private top = SLAB_UNITS;
  private blocks = 0;
  private unitsInUse = 0;
  private unitsFree = 0;

  /** Points `ref` at a zeroed block of at least `units` slots (its previous block is not freed). */
  alloc(ref: BlockRef, units: number): void {
    const size = sizeClass(units);
    if (size === 0) throw new RangeError("empty block");
    this.blocks++;
    this.unitsInUse += size;
    if (size > MAX_POOLED) {
      const buf = new ArrayBuffer(size * 8);
      ref.f64 = new Float64Array(buf);
      ref.f32 = new Float32Array(buf);
      ref.base = 0;
      ref.units = size;
      return;
    }
    const list = this.free.get(size);
    if (list !== undefined && list.length > 0) {
      const at = list.pop()!;
      const slab = this.slabs[Math.floor(at / SLAB_UNITS)]!;
      slab.live += size;
      ref.f64 = slab.f64;
      ref.f32 = slab.f32;
      ref.base = at % SLAB_UNITS;
      ref.units = size;
      slab.f64.fill(0, ref.base, ref.base + size);
      this.unitsFree -= size;
      return;
    }
    if (this.top + size > SLAB_UNITS) {
      // The tail of the full slab is left unused (< MAX_POOLED slots, once per slab).
      const buf = new ArrayBuffer(SLAB_UNITS * 8);
      const slab = { f64: new Float64Array(buf), f32: new Float32Array(buf), live: 0 };
      this.slabIndex.set(slab.f64, this.slabs.length);
      this.slabs.push(slab);
      this.liveSlabs++;
      this.top = 0;
    }
    const slab = this.slabs[this.slabs.length - 1]!;
    slab.live += size;
    ref.f64 = slab.f64;
    ref.f32 = slab.f32;
    ref.base = this.top;
    ref.units = size;
    this.top += size;
  }

  /** Returns `ref`'s block (no-op for no block) and points `ref` at no block (so a second call is a no-op). */
  release(ref: BlockRef): void {
    const units = ref.units;
    if (units === 0) return;
    const slab = this.slabIndex.get(ref.f64);
    const base = ref.base;
    ref.f64 = EMPTY_F64;
    ref.f32 = EMPTY_F32;
    ref.base = 0;
    ref.units = 0;
    this.blocks--;
    this.unitsInUse -= units;
    if (slab === undefined) return; // a block with a slab of its own: collected with its views
    let list = this.free.get(units);
    if (list === undefined) this.free.set(units, (list = []));
    list.push(slab * SLAB_UNITS + base);
    this.unitsFree += units;
    const s = this.slabs[slab]!;
    s.live -= units;
    if (s.live === 0 && slab !== this.slabs.length - 1) this.dropSlab(slab);
  }

  /**
   * Gives an empty slab back (to the garbage collector): actors allocated together tend to grow or
   * passivate together, so their old blocks free whole slabs. Its free-list entries go with it.
   */
  private dropSlab(slab: number): void {
    const from = slab * SLAB_UNITS;
    const to = from + SLAB_UNITS;
    for (const [size, list] of this.free) {
      let w = 0;
      for (let r = 0; r < list.length; r++) {
        const at = list[r]!;
        if (at >= from && at < to) this.unitsFree -= size;
        else list[w++] = at;
      }
      list.length = w;
    }
    this.slabIndex.delete(this.slabs[slab]!.f64);
    this.slabs[slab] = null;
    this.liveSlabs--;
  }

  stats(): ArenaStats {
    return { slabs: this.liveSlabs, blocks: this.blocks, unitsInUse: this.unitsInUse, unitsFree: this.unitsFree };
  }
}
