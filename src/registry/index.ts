/**
 * The device registry's logic (docs/adr/0019-device-identity.md): field validation, credentials
 * (generate, hash, verify, seal), the CSV import format and the strict-mode admission view. The
 * store is behind the DeviceRegistry port (src/ports/device-registry.ts; NATS KV in
 * src/adapters/nats/device-registry-kv.ts). The in-memory test double is imported from
 * ./memory-registry.js directly by tests.
 */
export { DEVICE_TYPE_RE, LABEL_KEY_RE, MAX_LABELS, MAX_LABEL_VALUE, validateDeviceId, validateDeviceType, validateLabels } from "./validate.js";
export { SCRYPT_PARAMS, generatePassword, hashPassword, sealPassword, sealingKeyFromEnv, unsealPassword, verifyPassword } from "./credentials.js";
export { MAX_CSV_ROWS, parseDeviceCsv } from "./csv.js";
export type { DeviceCsvResult, DeviceCsvRow } from "./csv.js";
export { RegistryAdmission } from "./admission.js";
export { startBrokerSync } from "./broker-sync.js";
export type { BrokerSync, BrokerSyncOptions, BrokerSyncStats } from "./broker-sync.js";
