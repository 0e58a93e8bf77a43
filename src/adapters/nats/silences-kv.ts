import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { Kvm, type KV, type KvEntry } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Silence, SilenceStore } from "../../ports/alerts.js";
import type { Log } from "../../ports/log.js";
import { errorMessage, ShoalError } from "../../base/errors.js";
import { retryOnTimeout } from "./admin-retry.js";

/** The KV bucket of silences (docs/adr/0016-alerts.md). */
export const SILENCES_BUCKET = "shoal_silences";

/** Options of the silence store. */
export interface SilencesKvOptions {
  /** Replicas of the bucket (`nats.replicas`). Default 1. */
  readonly replicas?: number;
  /** Where a stored value that is no silence is reported (it is ignored). */
  readonly log?: Log;
}

/** Opens (creates) the bucket: history 1, file storage, the replica count applied to an existing bucket too. */
async function openBucket(nc: NatsConnection, replicas: number): Promise<KV> {
  try {
    const kv = await retryOnTimeout(() => new Kvm(nc).create(SILENCES_BUCKET, { history: 1, replicas, storage: StorageType.File }));
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(`KV_${SILENCES_BUCKET}`);
    if (info.config.num_replicas !== replicas) await jsm.streams.update(info.config.name, { ...info.config, num_replicas: replicas });
    return kv;
  } catch (e) {
    throw unavailable("open", e);
  }
}

/** SilenceStore on the `shoal_silences` KV bucket: key = the silence id (escaped), value = its JSON. */
export async function createKvSilenceStore(nc: NatsConnection, opts: SilencesKvOptions = {}): Promise<SilenceStore> {
  return storeOn(await openBucket(nc, opts.replicas ?? 1), opts.log);
}

/**
 * The silence store plus a live view of every stored silence (a KV watch, applied by revision):
 * resolves once the silences stored now are loaded, so a notifier started after a silence was put
 * honours it from its first transition.
 */
export async function watchSilences(nc: NatsConnection, opts: SilencesKvOptions = {}): Promise<SilenceStore & { current(): readonly Silence[]; stop(): Promise<void> }> {
  const kv = await openBucket(nc, opts.replicas ?? 1);
  const store = storeOn(kv, opts.log);
  const byKey = new Map<string, { revision: number; silence: Silence | undefined }>();
  let list: readonly Silence[] = [];
  const apply = (key: string, revision: number, silence: Silence | undefined) => {
    const had = byKey.get(key);
    if (had !== undefined && had.revision >= revision) return;
    byKey.set(key, { revision, silence });
    list = [...byKey.values()].flatMap((v) => (v.silence === undefined ? [] : [v.silence]));
  };
  let watch: Awaited<ReturnType<KV["watch"]>>;
  try {
    watch = await kv.watch({ key: ">" });
    // The watch replays the last values first; a listing makes the view complete before the first read.
    const keys = await kv.keys();
    for await (const k of keys) {
      const e = await kv.get(k);
      if (e !== null) apply(k, e.revision, e.operation === "PUT" ? parse(e, opts.log) : undefined);
    }
  } catch (e) {
    throw unavailable("watch", e);
  }
  const done = (async () => {
    for await (const e of watch) apply(e.key, e.revision, e.operation === "PUT" ? parse(e, opts.log) : undefined);
  })().catch((e: unknown) => opts.log?.warn({ err: errorMessage(e) }, "silences watch ended"));
  return {
    ...store,
    current: () => list,
    async stop() {
      watch.stop();
      await done;
    },
  };
}

function storeOn(kv: KV, log: Log | undefined): SilenceStore {
  return {
    async put(s) {
      if (!s.id) throw new ShoalError("silence without an id", { code: "invalid_input", retryable: false });
      try {
        await kv.put(keyOf(s.id), JSON.stringify(s));
      } catch (e) {
        throw unavailable("put", e);
      }
    },
    async remove(id) {
      try {
        const e = await kv.get(keyOf(id));
        if (e === null || e.operation !== "PUT") return false;
        await kv.delete(keyOf(id));
        return true;
      } catch (e) {
        throw unavailable("remove", e);
      }
    },
    async list() {
      try {
        const out: Silence[] = [];
        for await (const k of await kv.keys()) {
          const e = await kv.get(k);
          const s = e !== null && e.operation === "PUT" ? parse(e, log) : undefined;
          if (s !== undefined) out.push(s);
        }
        return out;
      } catch (e) {
        throw unavailable("list", e);
      }
    },
  };
}

function parse(e: KvEntry, log: Log | undefined): Silence | undefined {
  try {
    const s = e.json<Silence>();
    if (typeof s.id === "string" && typeof s.untilMs === "number" && (typeof s.deviceId === "string" || typeof s.rule === "string")) return s;
  } catch {
    // reported below
  }
  log?.warn({ key: e.key }, "silences: stored value is no silence; ignored");
  return undefined;
}

/** KV key of a silence id: characters outside [A-Za-z0-9_-] escaped as `=XX` (UTF-8 bytes). */
export function silenceKey(id: string): string {
  return keyOf(id);
}

function keyOf(id: string): string {
  let out = "";
  for (const ch of id) {
    if (/[A-Za-z0-9_-]/.test(ch)) out += ch;
    else for (const b of new TextEncoder().encode(ch)) out += `=${b.toString(16).padStart(2, "0")}`;
  }
  return out;
}

function unavailable(what: string, err: unknown): ShoalError {
  if (err instanceof ShoalError) return err;
  return new ShoalError(`silences: ${what} failed: ${errorMessage(err)}`, { code: "storage_unavailable", retryable: true, cause: err });
}
