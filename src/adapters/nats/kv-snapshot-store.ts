import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { agedTimers, type PartitionTimer } from "../../ports/actor-host.js";
import type { ActorSnapshot, SnapshotEntry, SnapshotKey, SnapshotStore } from "../../ports/snapshot-store.js";
import { forEachBounded } from "../../base/concurrency.js";
import { errorMessage, ShoalError } from "../../base/errors.js";
import { retryOnTimeout } from "./admin-retry.js";

/** Options of the NATS KV snapshot store. */
export interface KvSnapshotStoreOptions {
  /** Bucket name. Default "shoal-snapshots". */
  readonly bucket?: string;
  /** Replicas of the bucket (cluster). Default 1. */
  readonly replicas?: number;
  /** Concurrent KV requests per getMany/putMany (pipelined on one connection). Default 256. */
  readonly concurrency?: number;
}

const VERSION = 1;
/** Timers per KV value when a partition's timers are handed over (~90 B each as JSON; ids up to ~400 B stay under 1 MiB). */
const TIMER_CHUNK = 2_000;
const HEADER = 17; // u8 version, f64 lastDeviceSeq, f64 streamSeq (little endian)

/**
 * SnapshotStore on a NATS KV bucket: key `a.<type>.<escaped id>` per actor, value = 17-byte
 * header (version, lastDeviceSeq, streamSeq) + the actor's state bytes; `cp.<partition>` holds
 * partition replay checkpoints. History 1 (only the latest snapshot matters), file storage.
 * Vendor errors become ShoalError `storage_unavailable` (retryable).
 */
export class KvSnapshotStore implements SnapshotStore {
  private constructor(
    private readonly kv: KV,
    private readonly concurrency: number,
  ) {}

  /** Create (or open) the bucket on `nc`. The connection stays the caller's. */
  static async create(nc: NatsConnection, opts: KvSnapshotStoreOptions = {}): Promise<KvSnapshotStore> {
    try {
      const bucket = opts.bucket ?? "shoal-snapshots";
      const replicas = opts.replicas ?? 1;
      const kv = await retryOnTimeout(() => new Kvm(nc).create(bucket, { history: 1, replicas, storage: StorageType.File }));
      await matchReplicas(nc, `KV_${bucket}`, replicas);
      return new KvSnapshotStore(kv, opts.concurrency ?? 256);
    } catch (err) {
      throw unavailable("open snapshot bucket", err);
    }
  }

  async getMany(keys: readonly SnapshotKey[]): Promise<(ActorSnapshot | undefined)[]> {
    const out = new Array<ActorSnapshot | undefined>(keys.length);
    await this.pool(keys.length, async (i) => {
      const k = keys[i]!;
      const e = await this.kv.get(actorKey(k.actorType, k.actorId));
      out[i] = e === null || e.operation !== "PUT" || e.value.length < HEADER ? undefined : decodeSnapshot(e.value);
    }, "get snapshots");
    return out;
  }

  async putMany(entries: readonly SnapshotEntry[]): Promise<void> {
    await this.pool(entries.length, async (i) => {
      const e = entries[i]!;
      await this.kv.put(actorKey(e.actorType, e.actorId), encodeSnapshot(e.snapshot));
    }, "put snapshots");
  }

  async getCheckpoint(partition: number): Promise<number | undefined> {
    try {
      const e = await this.kv.get(`cp.${partition}`);
      if (e === null || e.operation !== "PUT") return undefined;
      const v = Number(new TextDecoder().decode(e.value));
      return Number.isSafeInteger(v) ? v : undefined;
    } catch (err) {
      throw unavailable("get checkpoint", err);
    }
  }

  async putCheckpoint(partition: number, streamSeq: number): Promise<void> {
    try {
      await this.kv.put(`cp.${partition}`, new TextEncoder().encode(String(streamSeq)));
    } catch (err) {
      throw unavailable("put checkpoint", err);
    }
  }

  /**
   * Timers of a partition: `tm.<partition>` = {"v":1,"parts":K,"at":savedAtMs}, then K chunks
   * `tm.<partition>.<k>` of at most TIMER_CHUNK timers each (a KV value stays far below NATS's
   * 1 MiB message limit). Chunks are written before the header, so a reader never sees a header
   * without its chunks.
   */
  async putTimers(partition: number, timers: readonly PartitionTimer[], savedAtMs?: number): Promise<void> {
    try {
      const enc = new TextEncoder();
      const parts = Math.ceil(timers.length / TIMER_CHUNK);
      for (let k = 0; k < parts; k++) await this.kv.put(`tm.${partition}.${k}`, enc.encode(JSON.stringify(timers.slice(k * TIMER_CHUNK, (k + 1) * TIMER_CHUNK))));
      await this.kv.put(`tm.${partition}`, enc.encode(JSON.stringify(savedAtMs === undefined ? { v: 1, parts } : { v: 1, parts, at: savedAtMs })));
    } catch (err) {
      throw unavailable("put timers", err);
    }
  }

  async readTimers(partition: number, nowMs?: number): Promise<PartitionTimer[]> {
    try {
      const head = await this.kv.get(`tm.${partition}`);
      if (head === null || head.operation !== "PUT") return [];
      const { parts, at } = JSON.parse(new TextDecoder().decode(head.value)) as { parts: number; at?: number };
      const out: PartitionTimer[] = [];
      for (let k = 0; k < parts; k++) {
        const e = await this.kv.get(`tm.${partition}.${k}`);
        if (e !== null && e.operation === "PUT") out.push(...(JSON.parse(new TextDecoder().decode(e.value)) as PartitionTimer[]));
      }
      return agedTimers(out, at, nowMs);
    } catch (err) {
      throw unavailable("read timers", err);
    }
  }

  async close(): Promise<void> {}

  private async pool(n: number, fn: (i: number) => Promise<void>, what: string): Promise<void> {
    try {
      await forEachBounded(Array.from({ length: n }, (_, i) => i), this.concurrency, fn);
    } catch (err) {
      throw unavailable(what, err);
    }
  }
}

/** KV key of an actor: `a.<type>.<id>` with every char outside [A-Za-z0-9_-] escaped as `=XX`. */
export function actorKey(type: string, id: string): string {
  return `a.${escapeToken(type)}.${escapeToken(id)}`;
}

function escapeToken(s: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(s)) return s;
  let out = "";
  for (const ch of s) {
    if (/[A-Za-z0-9_-]/.test(ch)) out += ch;
    else for (const b of new TextEncoder().encode(ch)) out += `=${b.toString(16).padStart(2, "0")}`;
  }
  return out === "" ? "=" : out;
}

/** Value bytes of a snapshot. */
export function encodeSnapshot(s: ActorSnapshot): Uint8Array {
  const buf = new Uint8Array(HEADER + s.state.length);
  const dv = new DataView(buf.buffer);
  dv.setUint8(0, VERSION);
  dv.setFloat64(1, s.lastDeviceSeq, true);
  dv.setFloat64(9, s.streamSeq, true);
  buf.set(s.state, HEADER);
  return buf;
}

/** Parse value bytes written by `encodeSnapshot`. */
export function decodeSnapshot(b: Uint8Array): ActorSnapshot {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const v = dv.getUint8(0);
  if (v !== VERSION) throw new ShoalError(`snapshot value version ${v} is not supported (expected ${VERSION})`, { code: "invalid_input", retryable: false });
  // A plain Uint8Array copy (the client hands out Buffers that alias its read buffer).
  const state = new Uint8Array(b.byteLength - HEADER);
  state.set(b.subarray(HEADER));
  return { lastDeviceSeq: dv.getFloat64(1, true), streamSeq: dv.getFloat64(9, true), state };
}

/**
 * The KV client creates a bucket with the replica count asked for but opens an existing one as it
 * is; `nats.replicas` must apply to existing buckets too (a single-node site moving to a cluster),
 * so the bucket's stream is updated when its count differs — and only then.
 */
async function matchReplicas(nc: NatsConnection, stream: string, replicas: number): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  if (info.config.num_replicas !== replicas) await jsm.streams.update(stream, { ...info.config, num_replicas: replicas });
}

function unavailable(what: string, err: unknown): ShoalError {
  if (err instanceof ShoalError) return err;
  return new ShoalError(`snapshot store: ${what} failed: ${errorMessage(err)}`, { code: "storage_unavailable", retryable: true, cause: err });
}
