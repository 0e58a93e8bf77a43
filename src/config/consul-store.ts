import { createHash } from "node:crypto";
import type { KvStore } from "../ports/kv-store.js";
import { ConfigConflictError } from "./errors.js";
import { parseYamlLayer } from "./layers.js";

/**
 * Consul KV layout of the configuration (ADR 0004):
 *   `<prefix>/<env>/config.yaml`          the Consul layer: one YAML document (partial config)
 *   `<prefix>/<env>/.history/<n>`         every version written by `shoal config set|rollback`,
 *                                         n zero-padded (000001), JSON {@link HistoryEntry}
 * One document makes a multi-key change one atomic, versioned step: a watcher never sees
 * half of it, and check-and-set detects concurrent writers.
 */
export interface HistoryEntry {
  readonly n: number;
  /** ISO time of the write. */
  readonly at: string;
  /** Who wrote it (USER of the writing process, or --author). */
  readonly author: string;
  /** What the write did, e.g. `set detector.threshold` or `rollback to 3`. */
  readonly message: string;
  /** Hash of `text` (12 hex chars). */
  readonly hash: string;
  /** The whole document as written ("" = deleted). */
  readonly text: string;
}

/** The current document: `text` undefined when the key does not exist. */
export interface StoredDocument {
  readonly text: string | undefined;
  readonly modifyIndex: number;
}

/** Reads and writes the Consul configuration document of one environment, with history. */
export interface ConfigStore {
  /** KV key of the document, e.g. `shoal/dev/config.yaml`. */
  readonly key: string;
  /** Source label used for values of this document: `consul:<key>`. */
  readonly source: string;
  read(): Promise<StoredDocument>;
  /**
   * Validates `text` with `validate` (which throws ConfigError), then atomically writes it if
   * the document is still at `expectedModifyIndex`, appending a history entry.
   */
  write(
    text: string,
    opts: { expectedModifyIndex: number; author: string; message: string; validate: (doc: Record<string, unknown>) => void },
  ): Promise<HistoryEntry>;
  /** All history entries, oldest first. */
  history(): Promise<HistoryEntry[]>;
  /** The newest history number (0: none), from the keys alone: one request, no entry read. */
  latestVersion(): Promise<number>;
}

/** Number of history entries kept; older ones are pruned after each write. */
export const HISTORY_LIMIT = 100;

export const textHash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 12);
const pad = (n: number) => String(n).padStart(6, "0");

/** KV key of the configuration document of `env` under `prefix`. */
export const configKey = (prefix: string, env: string) => `${prefix}/${env}/config.yaml`;

export function createConfigStore(kv: KvStore, opts: { prefix: string; env: string; now?: () => Date }): ConfigStore {
  const key = configKey(opts.prefix, opts.env);
  const historyPrefix = `${opts.prefix}/${opts.env}/.history/`;
  const now = opts.now ?? (() => new Date());

  const listHistoryNumbers = async () =>
    (await kv.keys(historyPrefix))
      .map((k) => Number(k.slice(historyPrefix.length)))
      .filter((n) => Number.isInteger(n) && n > 0)
      .sort((a, b) => a - b);

  return {
    key,
    source: `consul:${key}`,
    async read() {
      const r = await kv.get(key);
      return { text: r.value, modifyIndex: r.modifyIndex };
    },
    async write(text, w) {
      const layer = parseYamlLayer(text, `consul:${key}`);
      w.validate(layer.data);
      const current = await kv.get(key);
      if (current.modifyIndex !== w.expectedModifyIndex) {
        throw new ConfigConflictError(`${key} changed while it was being edited: retry`);
      }
      const numbers = await listHistoryNumbers();
      let next = (numbers[numbers.length - 1] ?? 0) + 1;
      const writes = [];
      const at = now().toISOString();
      if (numbers.length === 0 && current.value !== undefined) {
        // A document written by hand before any history: keep it as version 1 so it can be restored.
        const baseline: HistoryEntry = { n: next, at, author: "unknown", message: "baseline (existing document)", hash: textHash(current.value), text: current.value };
        writes.push({ key: historyPrefix + pad(next), value: JSON.stringify(baseline), cas: 0 });
        next++;
      }
      const entry: HistoryEntry = { n: next, at, author: w.author, message: w.message, hash: textHash(text), text };
      writes.push({ key, value: text, cas: w.expectedModifyIndex });
      writes.push({ key: historyPrefix + pad(next), value: JSON.stringify(entry), cas: 0 });
      await kv.write(writes).catch((e: unknown) => {
        // Another writer won the check-and-set in the store's transaction.
        if ((e as { reason?: unknown }).reason === "conflict") throw new ConfigConflictError(`${key} changed while it was being edited: retry`, { cause: e });
        throw e;
      });
      const excess = numbers.length + writes.length - 1 - HISTORY_LIMIT;
      for (const n of numbers.slice(0, Math.max(0, excess))) await kv.del(historyPrefix + pad(n)).catch(() => undefined);
      return entry;
    },
    async latestVersion() {
      return Math.max(0, ...(await listHistoryNumbers()));
    },
    async history() {
      const out: HistoryEntry[] = [];
      for (const n of await listHistoryNumbers()) {
        const r = await kv.get(historyPrefix + pad(n));
        if (r.value === undefined) continue;
        try {
          out.push(JSON.parse(r.value) as HistoryEntry);
        } catch {
          // A hand-edited entry that is not JSON is skipped rather than breaking the listing.
        }
      }
      return out;
    },
  };
}
