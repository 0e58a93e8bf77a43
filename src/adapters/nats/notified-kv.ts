import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { createHash } from "node:crypto";
import { errorMessage, ShoalError } from "../../base/errors.js";
import { retryOnTimeout } from "./admin-retry.js";

/** The KV bucket of the notifier: idempotency marks and its saved state (docs/adr/0016-alerts.md). */
export const NOTIFIED_BUCKET = "shoal_notified";

/** Options of {@link createNotifiedKv}. */
export interface NotifiedKvOptions {
  /** Replicas of the bucket (`nats.replicas`). Default 1. */
  readonly replicas?: number;
  /** How long a mark is kept, ms (as long as the alerts stream keeps transitions). Default 30 days. */
  readonly ttlMs?: number;
}

// A state value part: well under NATS's 1 MiB message limit.
const CHUNK = 256 * 1024;

/**
 * The `shoal_notified` bucket: a mark `<target>.<sha1(notification id) hex>` per notification a
 * target got (written after its 2xx, read before sending), and the notifier's state under
 * `state.<name>.h` = {"v":1,"seq","gen","parts"} with its JSON in parts `state.<name>.<gen>.<k>`
 * (written before the head, into the generation the head does not point at: a crash mid-save leaves
 * the previous state whole). Keys expire after `ttlMs`.
 */
export async function createNotifiedKv(nc: NatsConnection, opts: NotifiedKvOptions = {}) {
  const replicas = opts.replicas ?? 1;
  const kv = await wrap("open", async () => {
    const bucket = await retryOnTimeout(() => new Kvm(nc).create(NOTIFIED_BUCKET, { history: 1, replicas, storage: StorageType.File, ttl: opts.ttlMs ?? 30 * 86_400_000 }));
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(`KV_${NOTIFIED_BUCKET}`);
    if (info.config.num_replicas !== replicas) await jsm.streams.update(info.config.name, { ...info.config, num_replicas: replicas });
    return bucket;
  });
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const head = (name: string) => `state.${token(name)}.h`;
  const part = (name: string, gen: number, k: number) => `state.${token(name)}.${gen}.${k}`;
  const readHead = async (name: string) => {
    const e = await kv.get(head(name));
    return e === null || e.operation !== "PUT" ? undefined : (JSON.parse(dec.decode(e.value)) as { v: 1; seq: number; gen: number; parts: number });
  };
  return {
    has: (target: string, id: string) =>
      wrap("read mark", async () => {
        const e = await kv.get(markKey(target, id));
        return e !== null && e.operation === "PUT";
      }),
    mark: (target: string, id: string) =>
      wrap("write mark", async () => {
        await kv.put(markKey(target, id), enc.encode(id));
      }),
    loadState: (name: string) =>
      wrap("load state", async () => {
        const h = await readHead(name);
        if (h === undefined) return undefined;
        const chunks: Uint8Array[] = [];
        for (let k = 0; k < h.parts; k++) {
          const e = await kv.get(part(name, h.gen, k));
          if (e === null || e.operation !== "PUT") throw new Error(`state part ${k} of ${h.parts} is missing`);
          chunks.push(e.value);
        }
        const all = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
        let at = 0;
        for (const c of chunks) {
          all.set(c, at);
          at += c.length;
        }
        return { seq: h.seq, state: dec.decode(all) };
      }),
    saveState: (name: string, seq: number, state: string) =>
      wrap("save state", async () => {
        const gen = ((await readHead(name))?.gen ?? 1) ^ 1;
        const bytes = enc.encode(state);
        const parts = Math.max(1, Math.ceil(bytes.length / CHUNK));
        // Parts are cut on byte boundaries (a character may straddle two): joined as bytes when loaded.
        await Promise.all(Array.from({ length: parts }, (_, k) => kv.put(part(name, gen, k), bytes.subarray(k * CHUNK, (k + 1) * CHUNK))));
        await kv.put(head(name), enc.encode(JSON.stringify({ v: 1, seq, gen, parts })));
      }),
  };
}

/** Key of a target's mark of notification `id`. */
export function markKey(target: string, id: string): string {
  return `${token(target)}.${createHash("sha1").update(id).digest("hex")}`;
}

/** A key token: characters outside [A-Za-z0-9_-] become `_` (target names are already in that set). */
function token(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, "_") || "_";
}

async function wrap<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ShoalError) throw e;
    throw new ShoalError(`notified marks: ${what} failed: ${errorMessage(e)}`, { code: "storage_unavailable", retryable: true, cause: e });
  }
}
