import { Code, ConnectError } from "@connectrpc/connect";
import { invalid, limit } from "../query/validate.js";
import { LABEL_KEY_RE, validateDeviceId, validateDeviceType, validateLabels } from "../registry/validate.js";

/**
 * Request validation of the DeviceService: every bad argument is INVALID_ARGUMENT with a reason
 * naming the field (the query service's `invalid`, so every service reads alike). What a device id,
 * type or label may be is the registry's rule (src/registry/validate.ts); this file only names the
 * field and adds the service's own limits (page size, page tokens, CSV size).
 */

export { invalid } from "../query/validate.js";

/** Largest CSV ImportDevices takes, bytes of UTF-8 (the proto's 4 MiB). */
export const MAX_IMPORT_BYTES = 4 * 1024 * 1024;
/** Longest reason of SetDeviceEnabled (it goes to the audit log). */
export const MAX_REASON_CHARS = 1024;
const PREFIX_RE = /^[A-Za-z0-9_-]{0,128}$/;

/** INVALID_ARGUMENT of a registry check's message (which starts with the field's name already). */
function refused(why: string): ConnectError {
  return new ConnectError(why, Code.InvalidArgument);
}

/** A device id (required). */
export function deviceId(v: string, field = "id"): string {
  const why = validateDeviceId(v, field);
  if (why !== undefined) throw refused(why);
  return v;
}

/** A device type ("" allowed: no type). */
export function deviceType(v: string, field = "type"): string {
  const why = validateDeviceType(v, field);
  if (why !== undefined) throw refused(why);
  return v;
}

/** A set of labels as the registry takes them (keys, values, how many). */
export function labels(v: Readonly<Record<string, string>>, field = "labels"): Record<string, string> {
  const copy = { ...v };
  const why = validateLabels(copy, field);
  if (why !== undefined) throw refused(why);
  return copy;
}

/** The labels a device would have after an update, checked as a whole (e.g. more than 32). */
export function mergedLabels(v: Readonly<Record<string, string>>): Record<string, string> {
  const why = validateLabels(v, "set_labels");
  if (why !== undefined) throw refused(`set_labels: the device's labels would be invalid: ${why.replace(/^set_labels:\s*/, "")}`);
  return { ...v };
}

/** Label keys to remove: each a well-formed key, none also being set in the same request. */
export function removeLabels(keys: readonly string[], setting: Readonly<Record<string, string>>, field = "remove_labels"): string[] {
  for (const k of keys) {
    if (!LABEL_KEY_RE.test(k)) throw invalid(field, `${JSON.stringify(k.slice(0, 80))} is not a label key (${LABEL_KEY_RE.source})`);
    if (Object.hasOwn(setting, k)) throw invalid(field, `${k} is also in set_labels`);
  }
  return [...new Set(keys)];
}

/** Only ids starting with this ("" = all). */
export function idPrefix(v: string, field = "id_prefix"): string {
  if (!PREFIX_RE.test(v)) throw invalid(field, `must match ${PREFIX_RE.source}`);
  return v;
}

/** 0: any, 1: enabled only, 2: disabled only -> the enabled flag to keep (undefined: any). */
export function enabledFilter(v: number, field = "enabled_filter"): boolean | undefined {
  if (v === 0) return undefined;
  if (v === 1) return true;
  if (v === 2) return false;
  throw invalid(field, "must be 0 (any), 1 (enabled only) or 2 (disabled only)");
}

/** Devices per page: 1..1000, 0 means 100. */
export function pageSize(v: number, field = "page_size"): number {
  return limit(v, field, 100, 1000);
}

/** The opaque page token of a page whose last device is `lastId`: base64url of the id. */
export function pageTokenOf(lastId: string): string {
  return Buffer.from(lastId, "utf8").toString("base64url");
}

/** The id a page token continues after (undefined for ""); a token this service did not give is INVALID_ARGUMENT. */
export function pageAfter(token: string, field = "page_token"): string | undefined {
  if (token === "") return undefined;
  const id = Buffer.from(token, "base64url").toString("utf8");
  if (pageTokenOf(id) !== token || validateDeviceId(id) !== undefined) throw invalid(field, "not a token this service gave");
  return id;
}

/** Why a device is enabled or disabled: at most 1024 characters (may be empty). */
export function reason(v: string, field = "reason"): string {
  if (v.length > MAX_REASON_CHARS) throw invalid(field, `longer than ${MAX_REASON_CHARS} characters`);
  return v;
}

/** The CSV of ImportDevices: not empty, at most 4 MiB of UTF-8. */
export function importCsv(v: string, field = "csv"): string {
  if (v.trim() === "") throw invalid(field, "required (CSV with the header id,type,labels)");
  const bytes = Buffer.byteLength(v, "utf8");
  if (bytes > MAX_IMPORT_BYTES) throw invalid(field, `${bytes} bytes: at most ${MAX_IMPORT_BYTES} (4 MiB); split the file`);
  return v;
}

/** expected_revision: 0 means no check. */
export function expectedRevision(v: bigint, field = "expected_revision"): number | undefined {
  if (v === 0n) return undefined;
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(field, "too large");
  return Number(v);
}
