import type { KvConnector, KvRead, KvStore, KvWrite } from "../ports/kv-store.js";

/**
 * An in-memory KV with Consul's check-and-set transactions, for unit tests only (the service
 * against a real Consul: test/integration/config-service.test.ts). `connect` is a KvConnector
 * over it that counts open connections, so tests can check that every one is closed.
 */
export class MemoryKv {
  private readonly items = new Map<string, { value: string; modifyIndex: number }>();
  private index = 1;
  /** Connections opened by `connect` and not closed yet. */
  open = 0;
  /** URL of the last connection. */
  lastUrl: string | undefined;
  /** When set, every call fails with it (Consul down). */
  failWith: Error | undefined;

  readonly connect: KvConnector = (conn) => {
    this.lastUrl = conn.url;
    this.open++;
    let closed = false;
    const check = () => {
      if (closed) throw new Error("MemoryKv: used after close");
      if (this.failWith) throw this.failWith;
    };
    const store: KvStore = {
      get: async (key) => {
        check();
        return this.read(key);
      },
      keys: async (prefix) => {
        check();
        return [...this.items.keys()].filter((k) => k.startsWith(prefix)).sort();
      },
      write: async (writes) => {
        check();
        this.write(writes);
      },
      del: async (key) => {
        check();
        this.items.delete(key);
      },
      close: () => {
        if (!closed) this.open--;
        closed = true;
      },
    };
    return store;
  };

  /** The value at `key` (test assertions and set-up). */
  read(key: string): KvRead {
    const it = this.items.get(key);
    return { value: it?.value, modifyIndex: it?.modifyIndex ?? 0, index: this.index };
  }

  /** Writes atomically, as Consul's txn: all or nothing; a failed `cas` throws `{ reason: "conflict" }`. */
  write(writes: readonly KvWrite[]): void {
    for (const w of writes) {
      if (w.cas !== undefined && (this.items.get(w.key)?.modifyIndex ?? 0) !== w.cas) {
        throw Object.assign(new Error(`kv write ${w.key}: conflict`), { reason: "conflict" });
      }
    }
    this.index++;
    for (const w of writes) this.items.set(w.key, { value: w.value, modifyIndex: this.index });
  }
}
