/** One read of a key, with the index to block on next. */
export interface KvRead {
  /** Value as text; `undefined` when the key does not exist. */
  readonly value: string | undefined;
  /** ModifyIndex of the key (0 when absent): use it for check-and-set. */
  readonly modifyIndex: number;
  /** X-Consul-Index of the response: pass it as `index` to block for the next change. */
  readonly index: number;
}

/** A KV write inside a transaction; `cas` 0 = only if absent, n = only if ModifyIndex is n. */
export interface KvWrite {
  readonly key: string;
  readonly value: string;
  readonly cas?: number;
}

/** A key-value store with blocking reads and check-and-set transactions (Consul KV in production): what configuration needs. */
export interface KvStore {
  /**
   * Reads `key`. With `index`, this is a blocking query: Consul answers when the key changes
   * or after `waitMs` (default 30 s). `signal` aborts the request.
   */
  get(key: string, opts?: { index?: number; waitMs?: number; signal?: AbortSignal }): Promise<KvRead>;
  /** Keys under `prefix` (non-recursive listing with separator when `separator` is given). */
  keys(prefix: string): Promise<string[]>;
  /** Writes all `writes` atomically (Consul txn); throws consul_conflict when a cas fails. */
  write(writes: readonly KvWrite[]): Promise<void>;
  /** Deletes `key` (and everything under it with `recurse`). */
  del(key: string, opts?: { recurse?: boolean }): Promise<void>;
  /** Releases the HTTP agent. */
  close(): void;
}

/** Opens a `KvStore` at `url` (Consul's HTTP API in production). */
export type KvConnector = (conn: { readonly url: string; readonly token?: string }) => KvStore;
