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
