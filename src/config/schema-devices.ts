import { z } from "zod";

/**
 * The device registry (docs/adr/0019-device-identity.md). `open`: readings of any well-formed
 * device id are taken (the broker still checks credentials when it drives accounts); `strict`:
 * the bridge dead-letters readings of devices the registry does not know (`unknown_device`) or has
 * disabled (`device_disabled`).
 */
export const registrySchema = z.strictObject({
  mode: z.enum(["open", "strict"]).default("open"),
  /** NATS KV bucket of the registry (replicated like the journal: nats.replicas). */
  bucket: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, { message: "must contain only letters, digits, _ and -" })
    .default("shoal_devices"),
  /**
   * Keep the MQTT broker's device accounts and ACLs in step with the registry (needs
   * mqtt.adminUsername/adminPassword: the broker's dynamic-security admin).
   */
  syncBroker: z.boolean().default(true),
});
