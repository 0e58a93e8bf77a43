import { errorMessage, ShoalError } from "../../base/errors.js";

/** ClickHouse rejected a statement or insert. `chCode` is ClickHouse's numeric error code when known. */
export class StorageError extends ShoalError {
  override readonly name = "StorageError";
  readonly chCode: number | undefined;
  constructor(message: string, opts: { retryable: boolean; chCode?: number; cause?: unknown }) {
    super(message, { code: opts.retryable ? "storage_unavailable" : "storage_rejected", retryable: opts.retryable, cause: opts.cause });
    this.chCode = opts.chCode;
  }
}

// ClickHouse codes that mean the data or statement is wrong (retrying will not help).
const NON_RETRYABLE = new Set([6, 26, 27, 32, 33, 36, 38, 41, 43, 47, 53, 60, 62, 69, 70, 72, 81, 117, 130, 131, 215]);

/**
 * Map a vendor error to a StorageError. ClickHouse 18.16's error text does not match the client's
 * parser, so the code is read from "Code: N" ourselves.
 */
export function toStorageError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err;
  const msg = errorMessage(err);
  const m = /Code: (\d+)/.exec(msg);
  const codeProp = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  const chCode = m ? Number(m[1]) : typeof codeProp === "string" && /^\d+$/.test(codeProp) ? Number(codeProp) : undefined;
  const retryable = chCode === undefined ? true : !NON_RETRYABLE.has(chCode);
  return new StorageError(`${what}: ${firstLine(msg)}`, { retryable, chCode, cause: err });
}

function firstLine(s: string): string {
  const i = s.indexOf("\n");
  return (i < 0 ? s : s.slice(0, i)).slice(0, 500);
}

/** A table or column name for SQL; names come from code (actor logics, the row log), never from devices. */
export function identifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new StorageError(`"${name}" is not a valid table or column name`, { retryable: false });
  return name;
}
