import { JetStreamApiCodes, JetStreamApiError, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { Kvm, type KV, type KvEntry } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { DeviceChange, DeviceRecord, DeviceRecordInput, DeviceRegistry } from "../../ports/device-registry.js";
import type { Log } from "../../ports/log.js";
import { forEachBounded } from "../../base/concurrency.js";
import { errorMessage, ShoalError } from "../../base/errors.js";
import { DEVICE_ID_RE } from "../../domain/reading-codec.js";
import { retryOnTimeout } from "./admin-retry.js";

/** Options of {@link createKvDeviceRegistry}. */
export interface KvDeviceRegistryOptions {
  /** The bucket (`registry.bucket`). */
  readonly bucket: string;
  /** Replicas of the bucket (`nats.replicas`), applied to an existing bucket too. */
  readonly replicas: number;
  /** Where a stored value that is no device record is reported (it is skipped). */
  readonly log?: Log;
}

/** Re-reads after a concurrent change before `update` gives up with "conflict". */
const UPDATE_RETRIES = 5;
/** Gets in flight while listing. */
const LIST_CONCURRENCY = 256;
const enc = new TextEncoder();

/**
 * The device registry on a NATS KV bucket (docs/adr/0019-device-identity.md): key `d.<id>` per
 * device (ids are [A-Za-z0-9_-], valid key tokens as they are), value = the JSON of its
 * {@link DeviceRecordInput}, revision = the KV revision (the bucket stream's sequence, so it grows
 * with every change to any device). History 1, file storage, `replicas` replicas.
 *
 * - create: `kv.create` (fails when the key holds a value: "already_exists");
 * - update: compare-and-set `kv.update(key, value, revision)`; on a concurrent change it re-reads
 *   and applies `change` again, up to 5 times, unless the caller gave `expectedRevision`
 *   ("conflict" at once);
 * - delete: `kv.purge`, compare-and-set on the revision read. Purge rather than delete: a purge
 *   rolls up the key, removing every earlier value of it whatever the bucket's history, so a
 *   deleted device's password hash and sealed password are gone from the stream (a delete marker
 *   would leave older values in place if the history were ever raised above 1). The key keeps one
 *   empty PURGE marker; `create` reuses the key.
 * - list: the keys, sorted, then one get each (256 in flight): a few seconds for 100,000 devices,
 *   which is what the DeviceService's pages and the broker sync's reconciliation need; beyond
 *   that a listing should come from a watch-fed view instead.
 * - watch: `kv.watch` (an ordered consumer, recreated by the client after a reconnect, resuming
 *   after the last revision seen): the last value of every key, then every change.
 *
 * Vendor errors become ShoalError "storage_unavailable" (retryable).
 */
export async function createKvDeviceRegistry(nc: NatsConnection, o: KvDeviceRegistryOptions): Promise<DeviceRegistry> {
  const kv = await wrap("open the bucket", async () => {
    const bucket = await retryOnTimeout(() => new Kvm(nc).create(o.bucket, { history: 1, replicas: o.replicas, storage: StorageType.File }));
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(`KV_${o.bucket}`);
    if (info.config.num_replicas !== o.replicas) await jsm.streams.update(info.config.name, { ...info.config, num_replicas: o.replicas });
    return bucket;
  });
  return new KvDeviceRegistry(kv, o.log);
}

class KvDeviceRegistry implements DeviceRegistry {
  constructor(
    private readonly kv: KV,
    private readonly log: Log | undefined,
  ) {}

  async get(id: string): Promise<DeviceRecord | undefined> {
    if (!DEVICE_ID_RE.test(id)) return undefined;
    return wrap("get", async () => this.recordOf(await this.kv.get(keyOf(id))));
  }

  async create(input: DeviceRecordInput): Promise<DeviceRecord> {
    if (!DEVICE_ID_RE.test(input.id)) throw new ShoalError(`device id ${JSON.stringify(input.id)} must match ${DEVICE_ID_RE.source}`, { code: "invalid_input" });
    return wrap("create", async () => {
      try {
        const revision = await this.kv.create(keyOf(input.id), encode(input));
        return { ...input, revision };
      } catch (e) {
        if (isWrongLastSequence(e)) throw new ShoalError(`device ${input.id} is already registered`, { code: "already_exists", cause: e });
        throw e;
      }
    });
  }

  async update(id: string, change: (current: DeviceRecord) => DeviceRecordInput, expectedRevision?: number): Promise<DeviceRecord> {
    if (!DEVICE_ID_RE.test(id)) throw notFound(id);
    for (let attempt = 0; ; attempt++) {
      const current = await wrap("update", async () => this.recordOf(await this.kv.get(keyOf(id))));
      if (current === undefined) throw notFound(id);
      if (expectedRevision !== undefined && current.revision !== expectedRevision) throw conflict(id, expectedRevision, current.revision);
      // The caller's function runs outside `wrap`: what it throws reaches the caller as it is.
      const next = change(current);
      if (next.id !== id) throw new ShoalError(`device ${id}: an update may not change the id (to ${next.id})`, { code: "invalid_input" });
      try {
        const revision = await this.kv.update(keyOf(id), encode(next), current.revision);
        return { ...stripRevision(next), revision };
      } catch (e) {
        if (!isWrongLastSequence(e)) throw unavailable("update", e);
        if (expectedRevision !== undefined) throw conflict(id, expectedRevision, undefined, e);
        if (attempt >= UPDATE_RETRIES) throw new ShoalError(`device ${id} changed concurrently on every one of ${UPDATE_RETRIES + 1} tries`, { code: "conflict", cause: e });
      }
    }
  }

  async delete(id: string): Promise<boolean> {
    if (!DEVICE_ID_RE.test(id)) return false;
    return wrap("delete", async () => {
      for (let attempt = 0; ; attempt++) {
        const e = await this.kv.get(keyOf(id));
        if (e === null || e.operation !== "PUT") return false;
        try {
          await this.kv.purge(keyOf(id), { previousSeq: e.revision });
          return true;
        } catch (err) {
          // Changed (or deleted) since read: read again; a concurrent delete makes this one false.
          if (!isWrongLastSequence(err) || attempt >= UPDATE_RETRIES) throw err;
        }
      }
    });
  }

  async list(): Promise<DeviceRecord[]> {
    return wrap("list", async () => {
      const ids: string[] = [];
      for await (const k of await this.kv.keys("d.>")) ids.push(k.slice(2));
      ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const got = new Array<DeviceRecord | undefined>(ids.length);
      await forEachBounded(ids, LIST_CONCURRENCY, async (id, i) => {
        got[i] = this.recordOf(await this.kv.get(keyOf(id)));
      });
      return got.filter((r): r is DeviceRecord => r !== undefined);
    });
  }

  async watch(onChange: (change: DeviceChange) => void): Promise<{ readonly ready: Promise<void>; stop(): Promise<void> }> {
    let markReady!: () => void;
    let markFailed!: (e: unknown) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    ready.catch(() => {}); // a caller that never awaits `ready` gets no unhandled rejection
    let isReady = false;
    const setReady = (failure?: unknown) => {
      if (isReady) return;
      isReady = true;
      if (failure === undefined) markReady();
      else markFailed(unavailable("watch", failure));
    };
    const it = await wrap("watch", () => this.kv.watch({ key: "d.>" }));
    let stopped = false;
    const deliver = (change: DeviceChange) => {
      try {
        onChange(change);
      } catch (e) {
        this.log?.error({ id: change.id, err: errorMessage(e) }, "device registry: a watcher failed on a change");
      }
    };
    // Ids this watch has given a record for: a deletion is passed on only for those (the initial
    // values hold markers of devices deleted long ago, which say nothing to the watcher).
    const known = new Set<string>();
    const done = (async () => {
      for await (const e of it) {
        const id = e.key.slice(2);
        const record = this.recordOf(e); // undefined for a deletion or an unreadable value (reported)
        if (record !== undefined) {
          known.add(id);
          deliver({ id, record });
        } else if (known.delete(id)) {
          deliver({ id, record: undefined });
        }
        // The last value of every key has come once nothing more is pending (as nats.go's watcher decides).
        if (e.delta === 0) setReady();
      }
      // Ended without stop() (the connection closed): the view stops following the registry, and
      // `ready`, if still pending, fails rather than claim initial values it may not have had.
      if (!stopped) {
        setReady(new Error("the watch ended before its initial values were read"));
        this.log?.warn({}, "device registry: watch ended (connection closed); changes are no longer followed");
      }
    })().catch((e: unknown) => {
      setReady(e);
      if (!stopped) this.log?.warn({ err: errorMessage(e) }, "device registry: watch ended");
    });
    // An empty bucket has no initial value to say so (values counted after the watch began:
    // anything stored earlier is among its initial values and ends them itself).
    try {
      if ((await this.kv.status()).values === 0) setReady();
    } catch (e) {
      it.stop();
      throw unavailable("watch", e);
    }
    return {
      ready,
      async stop() {
        stopped = true;
        it.stop();
        await done;
        setReady();
      },
    };
  }

  /** The record of a KV entry, or undefined for none/deleted/unreadable (reported). */
  private recordOf(e: KvEntry | null): DeviceRecord | undefined {
    if (e === null || e.operation !== "PUT") return undefined;
    const r = decode(e, this.log);
    return r === undefined ? undefined : { ...r, revision: e.revision };
  }
}

/** KV key of a device. */
export function deviceKey(id: string): string {
  return keyOf(id);
}

function keyOf(id: string): string {
  return `d.${id}`;
}

function encode(r: DeviceRecordInput): Uint8Array {
  const { id, type, labels, enabled, createdAtMs, updatedAtMs, credentialsRotatedAtMs, updatedBy, passwordHash, sealedPassword } = r;
  return enc.encode(JSON.stringify({ id, type, labels, enabled, createdAtMs, updatedAtMs, credentialsRotatedAtMs, updatedBy, passwordHash, sealedPassword }));
}

function stripRevision(r: DeviceRecordInput): DeviceRecordInput {
  const { id, type, labels, enabled, createdAtMs, updatedAtMs, credentialsRotatedAtMs, updatedBy, passwordHash, sealedPassword } = r;
  return { id, type, labels, enabled, createdAtMs, updatedAtMs, credentialsRotatedAtMs, updatedBy, passwordHash, sealedPassword };
}

function decode(e: KvEntry, log: Log | undefined): DeviceRecordInput | undefined {
  try {
    const v = e.json<Record<string, unknown>>();
    const str = (k: string) => typeof v[k] === "string";
    const num = (k: string) => typeof v[k] === "number" && Number.isFinite(v[k]);
    const labels = v.labels;
    if (
      v.id === e.key.slice(2) &&
      str("type") &&
      typeof v.enabled === "boolean" &&
      num("createdAtMs") &&
      num("updatedAtMs") &&
      num("credentialsRotatedAtMs") &&
      str("updatedBy") &&
      str("passwordHash") &&
      str("sealedPassword") &&
      typeof labels === "object" &&
      labels !== null &&
      !Array.isArray(labels) &&
      Object.values(labels).every((x) => typeof x === "string")
    ) {
      return stripRevision(v as unknown as DeviceRecordInput);
    }
  } catch {
    // reported below
  }
  // The key only: a value may hold a password hash.
  log?.warn({ key: e.key, revision: e.revision }, "device registry: stored value is no device record; skipped");
  return undefined;
}

function isWrongLastSequence(e: unknown): boolean {
  return e instanceof JetStreamApiError && (e.code === JetStreamApiCodes.StreamWrongLastSequence || e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

function notFound(id: string): ShoalError {
  return new ShoalError(`device ${id} is not registered`, { code: "not_found" });
}

function conflict(id: string, expected: number, actual: number | undefined, cause?: unknown): ShoalError {
  return new ShoalError(`device ${id} is at revision ${actual ?? "(changed)"}, not ${expected}`, { code: "conflict", cause });
}

async function wrap<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw unavailable(what, e);
  }
}

function unavailable(what: string, err: unknown): ShoalError {
  if (err instanceof ShoalError) return err;
  return new ShoalError(`device registry: ${what} failed: ${errorMessage(err)}`, { code: "storage_unavailable", retryable: true, cause: err });
}
