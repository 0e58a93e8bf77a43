import type { ClickHouseClient } from "@clickhouse/client";
import { toStorageError } from "./errors.js";

/**
 * A string value as a ClickHouse SQL literal, quotes included: `it's` → `'it\'s'`. ClickHouse 18.16
 * has no query parameters, so every string from outside (device ids, metric names, anything a user
 * typed) reaches a query through this one function. Backslash and single quote are escaped, NUL
 * becomes `\0` (a String may hold it); every other character is sent as is (UTF-8). A string that
 * is not valid UTF-16 (a lone surrogate) cannot be sent unchanged: RangeError.
 */
export function sqlString(value: string): string {
  if (typeof value !== "string") throw new TypeError(`sqlString takes a string, got ${typeof value}`);
  if (LONE_SURROGATE.test(value)) throw new RangeError("string with a lone surrogate cannot be sent to ClickHouse unchanged");
  return `'${value.replace(/[\\'\0]/g, (c) => (c === "\0" ? "\\0" : `\\${c}`))}'`;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A ms timestamp as an SQL integer literal (Int64 columns such as ts_ms); RangeError when not a safe integer. */
export function sqlMs(ms: number): string {
  if (!Number.isSafeInteger(ms)) throw new RangeError(`${ms} is not a whole number of ms`);
  return String(ms);
}

/** Statements and queries on one database (what migration procedures and background jobs need). */
export interface SqlRunner {
  exec(statement: string): Promise<void>;
  query<T>(select: string): Promise<T[]>;
}

/** A SqlRunner on a client; failures become StorageErrors naming the statement's first words. */
export function sqlRunner(c: ClickHouseClient): SqlRunner {
  const what = (q: string) => q.trim().split(/\s+/).slice(0, 6).join(" ");
  return {
    async exec(statement) {
      try {
        await c.command({ query: statement });
      } catch (e) {
        throw toStorageError(e, `ClickHouse statement failed (${what(statement)} …)`);
      }
    },
    async query<T>(select: string): Promise<T[]> {
      try {
        return (await (await c.query({ query: select, format: "JSONEachRow" })).json()) as T[];
      } catch (e) {
        throw toStorageError(e, `ClickHouse query failed (${what(select)} …)`);
      }
    },
  };
}
