import { toStorageError } from "./errors.js";
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from "@clickhouse/client";

/** Connection options of the ClickHouse adapter. */
export interface ClickHouseOptions {
  /** HTTP endpoint, e.g. http://127.0.0.1:18123. */
  readonly url: string;
  readonly database: string;
  readonly username: string;
  /** Secret: never logged. */
  readonly password: string;
  /** Per-request timeout in ms. Default 30000. */
  readonly requestTimeoutMs?: number;
}

/** A client bound to `database` (which must exist; see ensureDatabase). */
export function createClickHouseClient(o: ClickHouseOptions, database: string = o.database): ClickHouseClient {
  return createClient({
    url: o.url,
    username: o.username,
    password: o.password,
    database,
    request_timeout: o.requestTimeoutMs ?? 30_000,
    compression: { request: false, response: false },
    log: { level: ClickHouseLogLevel.OFF },
  });
}

/** SELECTs bounded in time: rows as JSON objects, failures as StorageErrors naming `what`. */
export interface BoundedQueries {
  rows<T>(query: string, signal?: AbortSignal): Promise<T[]>;
  close(): Promise<void>;
}

/**
 * A client whose every SELECT runs at most `maxExecutionMs` on the server (max_execution_time) and
 * is given up a little later by the client; what the read models and the reports read with.
 */
export function createBoundedQueries(o: ClickHouseOptions, maxExecutionMs: number, what: string): BoundedQueries {
  const client = createClickHouseClient({ ...o, requestTimeoutMs: maxExecutionMs + 5_000 });
  const settings = { max_execution_time: Math.max(1, Math.ceil(maxExecutionMs / 1000)) };
  return {
    async rows<T>(query: string, signal?: AbortSignal): Promise<T[]> {
      try {
        const rs = await client.query({ query, format: "JSONEachRow", clickhouse_settings: settings, ...(signal ? { abort_signal: signal } : {}) });
        return (await rs.json()) as T[];
      } catch (e) {
        throw toStorageError(e, `${what} failed`);
      }
    },
    close: () => client.close(),
  };
}
