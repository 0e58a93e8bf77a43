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

/** Options of a client beyond the connection. */
export interface ClientBehaviour {
  /**
   * JSON-format inserts take string values as already serialised (a value that is a string is sent
   * as is, followed by "\n"; anything else is JSON.stringify'd as usual). The sink inserts the
   * JSONEachRow text the worker threads made this way, without parsing or re-serialising it.
   */
  readonly passTextThrough?: boolean;
}

/** A client bound to `database` (which must exist; see ensureDatabase). */
export function createClickHouseClient(o: ClickHouseOptions, database: string = o.database, behaviour: ClientBehaviour = {}): ClickHouseClient {
  return createClient({
    ...(behaviour.passTextThrough ? { json: { stringify: passTextThrough } } : {}),
    url: o.url,
    username: o.username,
    password: o.password,
    database,
    request_timeout: o.requestTimeoutMs ?? 30_000,
    compression: { request: false, response: false },
    log: { level: ClickHouseLogLevel.OFF },
  });
}

/** JSON.stringify, except that a string is taken as JSON text already (see ClientBehaviour). */
function passTextThrough(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}
