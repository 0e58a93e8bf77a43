import { JetStreamApiCodes, JetStreamApiError, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { Kvm, type KV, type KvEntry } from "@nats-io/kv";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import type { CommandCursor, CommandListQuery, CommandRecord, CommandRecordInput, CommandStatus, CommandStore } from "../../ports/commands.js";
import type { Log } from "../../ports/log.js";
import { errorMessage, ShoalError } from "../../base/errors.js";
import { COMMAND_ID_RE } from "../../commands/ids.js";
import { readPage } from "../../commands/listing.js";
import { DEVICE_ID_RE } from "../../domain/reading-codec.js";
import { retryOnTimeout } from "./admin-retry.js";

/** Options of {@link createKvCommandStore}. */
export interface KvCommandStoreOptions {
  /** The bucket (`commands.bucket`). */
  readonly bucket: string;
  /** Replicas of the bucket (`nats.replicas`), applied to an existing bucket too. */
  readonly replicas: number;
  /** How long a record is kept after its last change (`commands.keep`): the bucket's TTL, applied to an existing bucket too. */
  readonly keepMs: number;
  /** Where a stored value that is no command record is reported (it is skipped). */
  readonly log?: Log;
}

/** Re-reads after a concurrent change before `transition` gives up with "conflict". */
const RETRIES = 10;
const STATUSES: ReadonlySet<string> = new Set<CommandStatus>(["pending", "delivered", "acknowledged", "failed", "expired"]);
const enc = new TextEncoder();

/**
 * CommandStore on a NATS KV bucket (docs/adr/0021-device-commands.md): key
 * `c.<deviceId>.<commandId>` (both valid key tokens as they are), so a device's commands are the
 * keys `c.<deviceId>.*`, the fleet's `c.>`. Listing reads the matching keys, orders them newest
 * first (command ids are time-ordered: src/commands/listing.ts) and reads records 64 at a time until
 * the page is full: a fleet-wide list costs one key listing of the bucket (bounded by `commands.keep`)
 * plus the records read; a status filter reads on past the records it skips.
 * Value = the record's JSON; revision = the KV revision. History 1, file storage, TTL `keepMs`
 * (a record disappears `keepMs` after its last change), `replicas` replicas.
 *
 * create is `kv.create` (fails on a taken key); transition is compare-and-set `kv.update` on the
 * revision read, re-read and re-applied on a concurrent change. get without the device lists the
 * keys `c.*.<commandId>` first. Vendor errors become ShoalError "storage_unavailable" (retryable).
 */
export async function createKvCommandStore(nc: NatsConnection, o: KvCommandStoreOptions): Promise<CommandStore> {
  const kv = await wrap("open the bucket", async () => {
    const bucket = await retryOnTimeout(() => new Kvm(nc).create(o.bucket, { history: 1, replicas: o.replicas, storage: StorageType.File, ttl: o.keepMs }));
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(`KV_${o.bucket}`);
    if (info.config.num_replicas !== o.replicas || info.config.max_age !== nanos(o.keepMs)) {
      await jsm.streams.update(info.config.name, { ...info.config, num_replicas: o.replicas, max_age: nanos(o.keepMs) });
    }
    return bucket;
  });
  return new KvCommandStore(kv, o.log);
}

class KvCommandStore implements CommandStore {
  constructor(
    private readonly kv: KV,
    private readonly log: Log | undefined,
  ) {}

  async create(r: CommandRecordInput): Promise<CommandRecord> {
    if (!DEVICE_ID_RE.test(r.deviceId) || !COMMAND_ID_RE.test(r.commandId)) throw new ShoalError(`command ${r.commandId} of ${r.deviceId}: bad id`, { code: "invalid_input" });
    return wrap("create", async () => {
      try {
        const revision = await this.kv.create(keyOf(r.deviceId, r.commandId), encode(r));
        return { ...strip(r), revision };
      } catch (e) {
        if (isWrongLastSequence(e)) throw new ShoalError(`command ${r.commandId} exists already`, { code: "already_exists", cause: e });
        throw e;
      }
    });
  }

  async get(commandId: string, deviceId?: string): Promise<CommandRecord | undefined> {
    if (!COMMAND_ID_RE.test(commandId)) return undefined;
    if (deviceId !== undefined) {
      if (!DEVICE_ID_RE.test(deviceId)) return undefined;
      return wrap("get", async () => this.recordOf(await this.kv.get(keyOf(deviceId, commandId))));
    }
    return wrap("get", async () => {
      for await (const k of await this.kv.keys(`c.*.${commandId}`)) {
        const r = this.recordOf(await this.kv.get(k));
        if (r !== undefined) return r;
      }
      return undefined;
    });
  }

  async list(query: CommandListQuery): Promise<CommandRecord[]> {
    if (query.deviceId !== undefined && !DEVICE_ID_RE.test(query.deviceId)) return [];
    return wrap("list", async () => {
      const positions: CommandCursor[] = [];
      for await (const k of await this.kv.keys(query.deviceId === undefined ? "c.>" : `c.${query.deviceId}.*`)) {
        const p = positionOf(k);
        if (p !== undefined) positions.push(p);
      }
      return readPage(positions, query, async (p) => this.recordOf(await this.kv.get(keyOf(p.deviceId, p.commandId))));
    });
  }

  async transition(deviceId: string, commandId: string, change: (current: CommandRecord) => CommandRecordInput | undefined): Promise<{ record: CommandRecord; changed: boolean } | undefined> {
    if (!DEVICE_ID_RE.test(deviceId) || !COMMAND_ID_RE.test(commandId)) return undefined;
    const key = keyOf(deviceId, commandId);
    for (let attempt = 0; ; attempt++) {
      const cur = await wrap("transition", async () => this.recordOf(await this.kv.get(key)));
      if (cur === undefined) return undefined;
      const next = change(cur);
      if (next === undefined) return { record: cur, changed: false };
      try {
        const revision = await this.kv.update(key, encode(next), cur.revision);
        return { record: { ...strip(next), revision }, changed: true };
      } catch (e) {
        if (!isWrongLastSequence(e)) throw unavailable("transition", e);
        if (attempt >= RETRIES) throw new ShoalError(`command ${commandId} changed concurrently on every one of ${RETRIES + 1} tries`, { code: "conflict", retryable: true, cause: e });
      }
    }
  }

  /** The record of a KV entry, or undefined for none/deleted/unreadable (reported). */
  private recordOf(e: KvEntry | null): CommandRecord | undefined {
    if (e === null || e.operation !== "PUT") return undefined;
    const r = decode(e);
    if (r === undefined) {
      this.log?.warn({ key: e.key, revision: e.revision }, "commands: stored value is no command record; skipped");
      return undefined;
    }
    return { ...r, revision: e.revision };
  }
}

/** KV key of a command. */
export function commandKey(deviceId: string, commandId: string): string {
  return keyOf(deviceId, commandId);
}

function keyOf(deviceId: string, commandId: string): string {
  return `c.${deviceId}.${commandId}`;
}

/** The command a key names (`c.<deviceId>.<commandId>`), or undefined for another key. */
function positionOf(key: string): CommandCursor | undefined {
  const [c, deviceId, commandId, ...rest] = key.split(".");
  return c === "c" && rest.length === 0 && deviceId !== undefined && commandId !== undefined && DEVICE_ID_RE.test(deviceId) && COMMAND_ID_RE.test(commandId) ? { deviceId, commandId } : undefined;
}

function strip(r: CommandRecordInput): CommandRecordInput {
  const { commandId, deviceId, name, payloadJson, status, createdAtMs, expiresAtMs, updatedAtMs, replyJson, reason, sentBy, attempts } = r;
  return { commandId, deviceId, name, payloadJson, status, createdAtMs, expiresAtMs, updatedAtMs, replyJson, reason, sentBy, attempts };
}

function encode(r: CommandRecordInput): Uint8Array {
  return enc.encode(JSON.stringify(strip(r)));
}

function decode(e: KvEntry): CommandRecordInput | undefined {
  try {
    const v = e.json<Record<string, unknown>>();
    const str = (k: string) => typeof v[k] === "string";
    const num = (k: string) => typeof v[k] === "number" && Number.isFinite(v[k]);
    if (
      e.key === `c.${String(v.deviceId)}.${String(v.commandId)}` &&
      ["name", "payloadJson", "replyJson", "reason", "sentBy"].every(str) &&
      ["createdAtMs", "expiresAtMs", "updatedAtMs", "attempts"].every(num) &&
      STATUSES.has(v.status as string)
    ) {
      return strip(v as unknown as CommandRecordInput);
    }
  } catch {
    // reported by the caller
  }
  return undefined;
}

function isWrongLastSequence(e: unknown): boolean {
  return e instanceof JetStreamApiError && (e.code === JetStreamApiCodes.StreamWrongLastSequence || e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

async function wrap<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw unavailable(what, e);
  }
}

function unavailable(what: string, err: unknown): ShoalError {
  if (err instanceof ShoalError) return err;
  return new ShoalError(`commands: ${what} failed: ${errorMessage(err)}`, { code: "storage_unavailable", retryable: true, cause: err });
}
