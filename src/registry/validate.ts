import { DEVICE_ID_RE } from "../domain/reading-contract.js";

/**
 * Checks of the device registry's fields (docs/adr/0019-device-identity.md), shared by the
 * DeviceService, the CSV import and the CLI: each returns the reason a value is refused as
 * `<field>: <rule>` (the form of the gRPC services' INVALID_ARGUMENT messages), or `undefined` when
 * the value is fine. Pure functions: callers decide how to report.
 */

/** A device type: free-form kind such as "thermostat", may be empty. */
export const DEVICE_TYPE_RE = /^[A-Za-z0-9_.-]{0,64}$/;
/** A label key. */
export const LABEL_KEY_RE = /^[A-Za-z0-9_.-]{1,64}$/;
/** Longest label value, in characters. */
export const MAX_LABEL_VALUE = 256;
/** Most labels on one device. */
export const MAX_LABELS = 32;

const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/** A device id ([A-Za-z0-9_-]{1,128}: the id of its MQTT topics, its broker username and its KV key). */
export function validateDeviceId(id: string, field = "id"): string | undefined {
  if (id === "") return `${field}: required`;
  if (!DEVICE_ID_RE.test(id)) return `${field}: must match ${DEVICE_ID_RE.source}`;
  // A device's broker username is its id: the service accounts (shoal-admin, shoal-bridge,
  // shoal-simulator) and future ones keep the prefix.
  if (id.toLowerCase().startsWith(RESERVED_ID_PREFIX)) return `${field}: "${RESERVED_ID_PREFIX}" ids are reserved for Shoal's own broker accounts`;
  return undefined;
}

/** Ids starting with this (any case) are not devices' (the broker's service accounts). */
export const RESERVED_ID_PREFIX = "shoal-";

/** A device type ([A-Za-z0-9_.-]{0,64}; "" = none). */
export function validateDeviceType(type: string, field = "type"): string | undefined {
  if (!DEVICE_TYPE_RE.test(type)) return `${field}: must match ${DEVICE_TYPE_RE.source}`;
  return undefined;
}

/**
 * A device's labels: at most {@link MAX_LABELS}, keys [A-Za-z0-9_.-]{1,64}, values at most
 * {@link MAX_LABEL_VALUE} characters without control characters (they end up in CSV exports,
 * logs and the console). The message names the offending key.
 */
export function validateLabels(labels: Readonly<Record<string, string>>, field = "labels"): string | undefined {
  const keys = Object.keys(labels);
  if (keys.length > MAX_LABELS) return `${field}: at most ${MAX_LABELS} labels (got ${keys.length})`;
  for (const k of keys) {
    if (!LABEL_KEY_RE.test(k)) return `${field}: key ${JSON.stringify(clip(k))} must match ${LABEL_KEY_RE.source}`;
    const v = labels[k];
    if (typeof v !== "string") return `${field}[${k}]: must be a string`;
    if (v.length > MAX_LABEL_VALUE) return `${field}[${k}]: longer than ${MAX_LABEL_VALUE} characters`;
    if (CONTROL_RE.test(v)) return `${field}[${k}]: must not contain control characters`;
  }
  return undefined;
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
