import { randomBytes } from "node:crypto";
import { backoffMs } from "../base/backoff.js";
import { sleep } from "../base/clock.js";
import { describeError, isRetryable } from "../base/errors.js";
import type { Logger } from "../observability/logger.js";
import type { Clock } from "../ports/clock.js";
import type { BrokerAccounts, DeviceChange, DeviceRecord, DeviceRegistry } from "../ports/device-registry.js";
import { unsealPassword } from "./credentials.js";

/**
 * What a broker may also offer (src/adapters/mqtt/dynsec.ts does): accounts that record which
 * credentials they hold (the registry's credentialsRotatedAtMs), so a reconcile can tell a password
 * rotated while no sync ran from the current one. Without it a reconcile trusts the passwords of
 * accounts that exist and applies only their enabled flags.
 */
export interface VersionedBrokerAccounts extends BrokerAccounts {
  putDevice(id: string, password: string, enabled: boolean, credentialsRotatedAtMs?: number): Promise<void>;
  deviceStates(): Promise<ReadonlyArray<{ readonly id: string; readonly enabled: boolean; readonly credentialsRotatedAtMs: number | undefined }>>;
  /** One account's state (undefined: none); lets a live change skip a password the broker already has. */
  deviceState?(id: string): Promise<{ readonly enabled: boolean; readonly credentialsRotatedAtMs: number | undefined } | undefined>;
}

/** Counters of a {@link startBrokerSync} (live object). */
export interface BrokerSyncStats {
  /** Registry records and changes processed (the initial ones included), whether or not the broker needed a change. */
  applied: number;
  /** Accounts created or given a new password. */
  passwordsSet: number;
  /** Enabled flags changed. */
  enabledSet: number;
  removed: number;
  /** Devices without a sealed password (or with one that does not unseal): account kept disabled until `shoal devices rotate`. */
  needsRotation: number;
  /** Broker calls that failed (each retry counts). */
  brokerErrors: number;
  /** Changes given up after a permanent error (logged). */
  failed: number;
  /** Changes waiting to be applied. */
  pending: number;
}

/** A running sync. */
export interface BrokerSync {
  /** Resolves when the first full reconcile is done. */
  readonly ready: Promise<void>;
  readonly stats: BrokerSyncStats;
  /** Stops watching; the change being applied finishes (or its retries stop). */
  stop(): Promise<void>;
}

/** Options of {@link startBrokerSync}. */
export interface BrokerSyncOptions {
  /** SHOAL_SECRET_KEY: unseals the passwords the registry keeps sealed. */
  readonly secretKey?: Buffer;
  readonly log: Logger;
  readonly clock: Clock;
  /** Retry delays: base and cap in ms. Default 200 ms .. 10 s. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** Tries of a change failing with a permanent (non-retryable) error before it is given up. Default 3. */
  readonly permanentTries?: number;
}

/** What the sync believes the broker has for a device. */
interface Applied {
  /** undefined: unknown (a broker that reports no flags), so the record's is applied. */
  readonly enabled: boolean | undefined;
  /** credentialsRotatedAtMs of the password the account has; undefined: unknown (trusted). */
  readonly rotatedAtMs: number | undefined;
  /** The account holds a throwaway password (no sealed one): it stays disabled. */
  readonly locked: boolean;
}

/**
 * Keeps the MQTT broker's device accounts in step with the device registry, the source of truth
 * (docs/adr/0019-device-identity.md). First a full reconcile of the registry's records (its watch's
 * initial state) against the broker's device accounts: missing accounts are created with the
 * password unsealed from the record, or disabled with a throwaway password when there is none to
 * unseal (logged: the device needs `shoal devices rotate`); stale passwords are set again (when the
 * broker records credential versions); accounts of deleted devices are removed; enabled flags are
 * applied. Then every registry change, in order: a password is set only when the credentials
 * changed (credentialsRotatedAtMs), else only the enabled flag; a deletion removes the account.
 * Broker errors are retried with exponential backoff (a retryable one until it succeeds or the sync
 * stops; a permanent one `permanentTries` times, then logged and counted as failed).
 */
export async function startBrokerSync(registry: DeviceRegistry, broker: BrokerAccounts, o: BrokerSyncOptions): Promise<BrokerSync> {
  const stats: BrokerSyncStats = { applied: 0, passwordsSet: 0, enabledSet: 0, removed: 0, needsRotation: 0, brokerErrors: 0, failed: 0, pending: 0 };
  const versioned = isVersioned(broker) ? broker : undefined;
  const stopper = new AbortController();
  const applied = new Map<string, Applied>();
  const initial = new Map<string, DeviceRecord>();
  const queue: DeviceChange[] = [];
  let initialDone = false;
  let wake: (() => void) | undefined;

  const watch = await registry.watch((change) => {
    if (!initialDone) {
      if (change.record === undefined) initial.delete(change.id);
      else initial.set(change.id, change.record);
      return;
    }
    queue.push(change);
    stats.pending = queue.length;
    wake?.();
  });

  /** Runs `op` until it succeeds; false when given up (permanent error) or stopped. */
  const attempt = async (what: string, id: string, op: () => Promise<void>): Promise<boolean> => {
    for (let n = 0, permanent = 0; !stopper.signal.aborted; n++) {
      try {
        await op();
        return true;
      } catch (e) {
        stats.brokerErrors++;
        if (!isRetryable(e) && ++permanent >= (o.permanentTries ?? 3)) {
          stats.failed++;
          o.log.error({ device: id, err: describeError(e) }, `broker sync: ${what} failed; given up (the next change of the device, or a restart of the sync, tries again)`);
          return false;
        }
        const delay = backoffMs(n, o.retryBaseMs ?? 200, o.retryMaxMs ?? 10_000);
        o.log.warn({ device: id, err: describeError(e), retryInMs: delay }, `broker sync: ${what} failed`);
        await sleep(delay, o.clock, stopper.signal).catch(() => {});
      }
    }
    return false;
  };

  /** Creates the account or sets its password from `record`; a record without a usable sealed password gets a disabled account. */
  const putFromRecord = async (record: DeviceRecord): Promise<void> => {
    const password = unsealPassword(record.sealedPassword, o.secretKey);
    const locked = password === undefined;
    if (locked) {
      stats.needsRotation++;
      o.log.warn(
        { device: record.id, sealed: record.sealedPassword !== "", secretKey: o.secretKey !== undefined },
        "broker sync: no password to give the device's broker account (none sealed, no SHOAL_SECRET_KEY, or another key): account disabled until `shoal devices rotate`",
      );
    }
    const pw = password ?? randomBytes(24).toString("base64url");
    const enabled = record.enabled && !locked;
    const ok = await attempt("set the account", record.id, () =>
      versioned ? versioned.putDevice(record.id, pw, enabled, locked ? undefined : record.credentialsRotatedAtMs) : broker.putDevice(record.id, pw, enabled),
    );
    if (ok) {
      stats.passwordsSet++;
      applied.set(record.id, { enabled, rotatedAtMs: record.credentialsRotatedAtMs, locked });
    } else applied.delete(record.id);
  };

  const setEnabled = async (id: string, enabled: boolean, prev: Applied): Promise<void> => {
    if (await attempt(enabled ? "enable" : "disable", id, () => broker.setEnabled(id, enabled))) {
      stats.enabledSet++;
      applied.set(id, { ...prev, enabled });
    } else applied.delete(id);
  };

  /**
   * Brings one device's account to `record` (undefined: deleted). `live`: a change seen after the
   * first reconcile — its new password was given to the broker by the DeviceService call that made
   * it (in the same call), so an account already at the record's credentials version is left as is,
   * and one the sync cannot unseal a password for is not locked (the call's own write wins).
   */
  const apply = async (id: string, record: DeviceRecord | undefined, live = false): Promise<void> => {
    stats.applied++;
    const prev = applied.get(id);
    if (record === undefined) {
      if (await attempt("remove the account", id, () => broker.removeDevice(id))) stats.removed++;
      applied.delete(id);
      return;
    }
    if (prev === undefined || (prev.rotatedAtMs !== undefined && prev.rotatedAtMs !== record.credentialsRotatedAtMs)) {
      if (live) {
        let now: { enabled: boolean; credentialsRotatedAtMs: number | undefined } | undefined;
        const read = versioned?.deviceState;
        if (read) await attempt("read the account", id, async () => void (now = await read.call(versioned, id)));
        if (now !== undefined && now.credentialsRotatedAtMs === record.credentialsRotatedAtMs) {
          const current: Applied = { enabled: now.enabled, rotatedAtMs: record.credentialsRotatedAtMs, locked: false };
          applied.set(id, current);
          if (now.enabled !== record.enabled) await setEnabled(id, record.enabled, current);
          return;
        }
        if (unsealPassword(record.sealedPassword, o.secretKey) === undefined) {
          // Nothing to give the broker: the DeviceService call writing this change sets the password.
          applied.set(id, { enabled: undefined, rotatedAtMs: record.credentialsRotatedAtMs, locked: false });
          return;
        }
      }
      await putFromRecord(record);
      return;
    }
    // Same credentials (an unknown version is trusted as the current one): only the flag may differ.
    const current: Applied = { ...prev, rotatedAtMs: record.credentialsRotatedAtMs };
    applied.set(id, current);
    if (current.locked) return; // stays disabled until the credentials change
    if (current.enabled !== record.enabled) await setEnabled(id, record.enabled, current);
  };

  const reconcile = async (): Promise<void> => {
    let have: ReadonlyArray<{ id: string; enabled: boolean | undefined; credentialsRotatedAtMs: number | undefined }> = [];
    // Until it works (read-only; without it every account would look missing).
    const list = async (): Promise<void> => {
      have = versioned ? await versioned.deviceStates() : (await broker.listDevices()).map((id) => ({ id, enabled: undefined, credentialsRotatedAtMs: undefined }));
    };
    while (!(await attempt("list the broker's device accounts", "*", list)) && !stopper.signal.aborted);
    for (const h of have) applied.set(h.id, { enabled: h.enabled, rotatedAtMs: h.credentialsRotatedAtMs, locked: false });
    for (const h of have) if (!initial.has(h.id) && !stopper.signal.aborted) await apply(h.id, undefined);
    for (const record of initial.values()) if (!stopper.signal.aborted) await apply(record.id, record);
    initial.clear();
  };

  const run = async (): Promise<void> => {
    await watch.ready;
    initialDone = true;
    await reconcile();
    readyResolve();
    o.log.info({ devices: applied.size, ...stats }, "broker sync: reconciled");
    while (!stopper.signal.aborted) {
      const change = queue.shift();
      stats.pending = queue.length;
      if (change === undefined) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      await apply(change.id, change.record, true);
    }
  };

  let readyResolve!: () => void;
  const ready = new Promise<void>((resolve) => (readyResolve = resolve));
  const loop = run().catch((e: unknown) => o.log.error({ err: describeError(e) }, "broker sync stopped on an error"));

  return {
    ready,
    stats,
    async stop() {
      stopper.abort();
      wake?.();
      await watch.stop();
      readyResolve();
      await loop;
    },
  };
}

function isVersioned(b: BrokerAccounts): b is VersionedBrokerAccounts {
  return typeof (b as Partial<VersionedBrokerAccounts>).deviceStates === "function";
}
