/**
 * The device registry (docs/adr/0019-device-identity.md): every device Shoal knows, kept in a
 * replicated store (NATS KV bucket `registry.bucket` in production). The registry is the source of
 * truth for device identity; the MQTT broker's accounts follow it (see {@link BrokerAccounts}) and
 * the bridge reads it in `registry.mode: strict`.
 */

/** One registered device as stored. */
export interface DeviceRecord {
  /** [A-Za-z0-9_-]{1,128}: the id of the device's MQTT topics and its broker username. */
  readonly id: string;
  readonly type: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly enabled: boolean;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly credentialsRotatedAtMs: number;
  /** Token name of whoever made the last change. */
  readonly updatedBy: string;
  /**
   * The current password, as `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>` (verification) ...
   */
  readonly passwordHash: string;
  /**
   * ... and sealed (`enc:` AES-256-GCM with SHOAL_SECRET_KEY) so the broker's account can be
   * rebuilt after the broker lost it; "" when no secret key is configured (then a lost broker
   * account needs a rotation).
   */
  readonly sealedPassword: string;
  /** The store's revision of this record (compare-and-set). */
  readonly revision: number;
}

/** A record before the store gave it a revision. */
export type DeviceRecordInput = Omit<DeviceRecord, "revision">;

/** A change seen by {@link DeviceRegistry.watch}: the new record, or `undefined` when deleted. */
export interface DeviceChange {
  readonly id: string;
  readonly record: DeviceRecord | undefined;
}

/** Errors of the registry: `code` is "not_found", "already_exists" or "conflict" (stale revision). */
export interface DeviceRegistry {
  get(id: string): Promise<DeviceRecord | undefined>;
  /** Store a new device; throws a ShoalError "already_exists" when the id is taken. */
  create(record: DeviceRecordInput): Promise<DeviceRecord>;
  /**
   * Replace a device's record with `change(current)`, compare-and-set on its revision (retried on
   * a concurrent change unless `expectedRevision` is given: then "conflict"). "not_found" when absent.
   */
  update(id: string, change: (current: DeviceRecord) => DeviceRecordInput, expectedRevision?: number): Promise<DeviceRecord>;
  /** Remove a device; false when there was none. */
  delete(id: string): Promise<boolean>;
  /** Every device, in id order. */
  list(): Promise<DeviceRecord[]>;
  /**
   * Every record now (`onChange` for each, then `ready` resolves) and every change after, in order.
   * A deletion is reported only for a device this watch gave a record for. `stop()` ends the watch.
   */
  watch(onChange: (change: DeviceChange) => void): Promise<{ readonly ready: Promise<void>; stop(): Promise<void> }>;
}

/**
 * The MQTT broker's device accounts and topic ACLs (Mosquitto's dynamic security plugin in the
 * local stack): what the registry drives. Every method is idempotent.
 */
export interface BrokerAccounts {
  /**
   * Create or update a device's account: its password, enabled flag and the device role (ACL).
   * `credentialsRotatedAtMs` (the registry record's) lets a reconciler tell a current account from
   * a stale one; brokers that cannot store it ignore it.
   */
  putDevice(id: string, password: string, enabled: boolean, credentialsRotatedAtMs?: number): Promise<void>;
  /** Enable or disable an account; disabling drops the device's connection at once. */
  setEnabled(id: string, enabled: boolean): Promise<void>;
  /** Remove an account (and drop its connection). */
  removeDevice(id: string): Promise<void>;
  /** Usernames of the device accounts the broker has (not the service accounts). */
  listDevices(): Promise<string[]>;
  close(): Promise<void>;
}

/** How the bridge sees a device in `registry.mode: strict`. */
export type DeviceAdmission = "known" | "unknown" | "disabled";
