import { z } from "zod";
import { durationIn } from "./schema-values.js";

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

/** Commands to devices (docs/adr/0021-device-commands.md). */
export const commandsSchema = z
  .strictObject({
    /** How long a command waits for its device's reply when the sender gives no TTL. */
    ttl: durationIn("1h", 1_000, 7 * 86_400_000, "must be between 1s and 7d"),
    /** How often a command not yet taken by the broker (device offline) is offered again. */
    retryEvery: durationIn("5s", 100, 3_600_000, "must be between 100ms and 1h"),
    /** How long a settled command stays queryable (KV TTL of the status records). */
    keep: durationIn("7d", 60_000, 365 * 86_400_000, "must be between 1m and 365d"),
    /** NATS KV bucket of command status records. */
    bucket: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, { message: "must contain only letters, digits, _ and -" })
      .default("shoal_commands"),
  })
  .transform(({ ttl, retryEvery, keep, ...rest }) => ({ ...rest, ttlMs: ttl, retryEveryMs: retryEvery, keepMs: keep }));
