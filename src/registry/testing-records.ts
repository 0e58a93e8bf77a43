import type { DeviceRecordInput } from "../ports/device-registry.js";

/**
 * A device record for tests (of the registry and of code built on it): enabled, no labels, fixed
 * times, placeholder credentials; `over` replaces any field.
 */
export function testDeviceRecord(id: string, over: Partial<DeviceRecordInput> = {}): DeviceRecordInput {
  return {
    id,
    type: "thermostat",
    labels: {},
    enabled: true,
    createdAtMs: 1_700_000_000_000,
    updatedAtMs: 1_700_000_000_000,
    credentialsRotatedAtMs: 1_700_000_000_000,
    updatedBy: "test",
    passwordHash: "scrypt$16384$8$1$c2FsdA==$aGFzaA==",
    sealedPassword: "",
    ...over,
  };
}
