import type { MessageInitShape } from "@bufbuild/protobuf";
import type { DeviceRecord } from "../ports/device-registry.js";
import type { DeviceCredentialsSchema, RegisteredDeviceSchema } from "../gen/shoal/v1/device_pb.js";

/**
 * Registry records to DeviceService messages. The password hash and the sealed password never
 * leave the server: a record's message has neither, and the only way a password reaches a caller
 * is {@link credentialsOf} on the one answer that generated it.
 */

/** The message of a stored device (without its password hash or sealed password). */
export function deviceOf(r: DeviceRecord): MessageInitShape<typeof RegisteredDeviceSchema> {
  return {
    id: r.id,
    type: r.type,
    labels: { ...r.labels },
    enabled: r.enabled,
    createdAtMs: BigInt(r.createdAtMs),
    updatedAtMs: BigInt(r.updatedAtMs),
    credentialsRotatedAtMs: BigInt(r.credentialsRotatedAtMs),
    revision: BigInt(r.revision),
    updatedBy: r.updatedBy,
  };
}

/** A device's MQTT credentials: the username is the device id. */
export function credentialsOf(id: string, password: string): MessageInitShape<typeof DeviceCredentialsSchema> {
  return { username: id, password };
}

/** True when `r` passes ListDevices' filter. */
export function matches(r: DeviceRecord, f: { readonly prefix: string; readonly type: string; readonly labels: Readonly<Record<string, string>>; readonly enabled: boolean | undefined }): boolean {
  if (!r.id.startsWith(f.prefix)) return false;
  if (f.type !== "" && r.type !== f.type) return false;
  if (f.enabled !== undefined && r.enabled !== f.enabled) return false;
  for (const [k, v] of Object.entries(f.labels)) if (!Object.hasOwn(r.labels, k) || r.labels[k] !== v) return false;
  return true;
}
