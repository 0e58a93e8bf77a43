import { afterEach, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { ShoalError } from "../base/errors.js";
import { SimClock, flush } from "../base/testing/sim-clock.js";
import { createLogger } from "../observability/logger.js";
import type { BrokerAccounts } from "../ports/device-registry.js";
import { startBrokerSync, type BrokerSync, type VersionedBrokerAccounts } from "./broker-sync.js";
import { sealPassword } from "./credentials.js";
import { MemoryDeviceRegistry } from "./memory-registry.js";
import { testDeviceRecord } from "./testing-records.js";

const log = createLogger({ level: "silent", name: "test" });
const key = randomBytes(32);

interface Account {
  password: string;
  enabled: boolean;
  rotatedAtMs: number | undefined;
}

/** A broker in memory: accounts, a log of the calls that change something, and failures to inject. */
class FakeBroker implements VersionedBrokerAccounts {
  readonly accounts = new Map<string, Account>();
  readonly calls: string[] = [];
  /** Errors thrown by the next calls (one each). */
  failures: Error[] = [];

  private maybeFail(): void {
    const e = this.failures.shift();
    if (e !== undefined) throw e;
  }
  async putDevice(id: string, password: string, enabled: boolean, rotatedAtMs?: number): Promise<void> {
    this.maybeFail();
    this.calls.push(`put ${id} ${enabled ? "enabled" : "disabled"}`);
    this.accounts.set(id, { password, enabled, rotatedAtMs });
  }
  async setEnabled(id: string, enabled: boolean): Promise<void> {
    this.maybeFail();
    const a = this.accounts.get(id);
    if (a === undefined) throw new ShoalError(`no account ${id}`, { code: "not_found" });
    this.calls.push(`${enabled ? "enable" : "disable"} ${id}`);
    a.enabled = enabled;
  }
  async removeDevice(id: string): Promise<void> {
    this.maybeFail();
    this.calls.push(`remove ${id}`);
    this.accounts.delete(id);
  }
  async listDevices(): Promise<string[]> {
    this.maybeFail();
    return [...this.accounts.keys()];
  }
  async deviceStates() {
    this.maybeFail();
    return [...this.accounts].map(([id, a]) => ({ id, enabled: a.enabled, credentialsRotatedAtMs: a.rotatedAtMs }));
  }
  async deviceState(id: string) {
    this.maybeFail();
    const a = this.accounts.get(id);
    return a === undefined ? undefined : { enabled: a.enabled, credentialsRotatedAtMs: a.rotatedAtMs };
  }
  async close(): Promise<void> {}
}

/** The same broker seen through the port only (no credential versions). */
function plainPort(b: FakeBroker): BrokerAccounts {
  return { putDevice: (i, p, e) => b.putDevice(i, p, e), setEnabled: (i, e) => b.setEnabled(i, e), removeDevice: (i) => b.removeDevice(i), listDevices: () => b.listDevices(), close: () => b.close() };
}

let sync: BrokerSync | undefined;
afterEach(async () => {
  await sync?.stop();
  sync = undefined;
});

/** Lets the sync's loop apply what is queued (no timers involved). */
const settle = () => flush(200);

describe("startBrokerSync", () => {
  it("reconciles at start: creates missing accounts from the sealed password, removes deleted devices' accounts, applies flags", async () => {
    const registry = new MemoryDeviceRegistry();
    const broker = new FakeBroker();
    await registry.create(testDeviceRecord("new-1", { sealedPassword: sealPassword("pw-new-1", key) }));
    await registry.create(testDeviceRecord("off-1", { sealedPassword: sealPassword("pw-off-1", key), enabled: false, credentialsRotatedAtMs: 5 }));
    await registry.create(testDeviceRecord("same-1", { sealedPassword: sealPassword("pw-same-1", key), credentialsRotatedAtMs: 7 }));
    broker.accounts.set("off-1", { password: "pw-off-1", enabled: true, rotatedAtMs: 5 });
    broker.accounts.set("same-1", { password: "pw-same-1", enabled: true, rotatedAtMs: 7 });
    broker.accounts.set("gone-1", { password: "x", enabled: true, rotatedAtMs: 1 });

    sync = await startBrokerSync(registry, broker, { secretKey: key, log, clock: new SimClock() });
    await sync.ready;

    expect(broker.calls.sort()).toEqual(["disable off-1", "put new-1 enabled", "remove gone-1"]);
    expect(broker.accounts.get("new-1")).toEqual({ password: "pw-new-1", enabled: true, rotatedAtMs: 1_700_000_000_000 });
    expect(broker.accounts.get("off-1")?.enabled).toBe(false);
    expect(broker.accounts.has("gone-1")).toBe(false);
    expect(sync.stats).toMatchObject({ passwordsSet: 1, enabledSet: 1, removed: 1, needsRotation: 0, brokerErrors: 0 });
  });

  it("sets the password again at start when it was rotated while no sync ran (the broker records the version)", async () => {
    const registry = new MemoryDeviceRegistry();
    const broker = new FakeBroker();
    await registry.create(testDeviceRecord("rot-1", { sealedPassword: sealPassword("pw-2", key), credentialsRotatedAtMs: 20 }));
    broker.accounts.set("rot-1", { password: "pw-1", enabled: true, rotatedAtMs: 10 });
    sync = await startBrokerSync(registry, broker, { secretKey: key, log, clock: new SimClock() });
    await sync.ready;
    expect(broker.accounts.get("rot-1")).toEqual({ password: "pw-2", enabled: true, rotatedAtMs: 20 });
  });

  it("without a sealed password (or key) creates the account disabled with a throwaway password and counts it", async () => {
    const registry = new MemoryDeviceRegistry();
    const broker = new FakeBroker();
    await registry.create(testDeviceRecord("nokey-1", { sealedPassword: "" }));
    await registry.create(testDeviceRecord("otherkey-1", { sealedPassword: sealPassword("pw", randomBytes(32)) }));
    sync = await startBrokerSync(registry, broker, { secretKey: key, log, clock: new SimClock() });
    await sync.ready;
    expect(broker.calls.sort()).toEqual(["put nokey-1 disabled", "put otherkey-1 disabled"]);
    expect(broker.accounts.get("nokey-1")?.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(sync.stats.needsRotation).toBe(2);

    // Enabling it changes nothing (nobody knows the password) ...
    await registry.update("nokey-1", (r) => ({ ...r, enabled: true, updatedAtMs: r.updatedAtMs + 1 }));
    await settle();
    expect(broker.accounts.get("nokey-1")?.enabled).toBe(false);
    // ... a rotation (a new sealed password) gives it one and the record's flag.
    await registry.update("nokey-1", (r) => ({ ...r, sealedPassword: sealPassword("fresh", key), credentialsRotatedAtMs: r.credentialsRotatedAtMs + 1 }));
    await settle();
    expect(broker.accounts.get("nokey-1")).toMatchObject({ password: "fresh", enabled: true });
  });

  it("a live change whose password DeviceService already gave the broker is left alone; without a key nothing is locked", async () => {
    const registry = new MemoryDeviceRegistry();
    const broker = new FakeBroker();
    sync = await startBrokerSync(registry, broker, { log, clock: new SimClock() }); // no SHOAL_SECRET_KEY
    await sync.ready;
    // DeviceService: registry first, then the broker (the same call) — the sync must not undo it.
    await registry.create(testDeviceRecord("live-1", { sealedPassword: "", credentialsRotatedAtMs: 3 }));
    await broker.putDevice("live-1", "the-real-one", true, 3);
    await settle();
    expect(broker.accounts.get("live-1")).toMatchObject({ password: "the-real-one", enabled: true });
    // A rotation the broker has not seen yet, and no key to unseal: still not locked.
    await registry.update("live-1", (r) => ({ ...r, credentialsRotatedAtMs: 4 }));
    await settle();
    expect(broker.accounts.get("live-1")).toMatchObject({ password: "the-real-one", enabled: true });
    expect(broker.calls).toEqual(["put live-1 enabled"]);
    expect(sync.stats.needsRotation).toBe(0);
  });

  it("applies changes in order: a password only when the credentials changed, else the flag; deletion removes", async () => {
    const registry = new MemoryDeviceRegistry();
    const broker = new FakeBroker();
    sync = await startBrokerSync(registry, broker, { secretKey: key, log, clock: new SimClock() });
    await sync.ready;

    await registry.create(testDeviceRecord("d-1", { sealedPassword: sealPassword("pw-1", key), credentialsRotatedAtMs: 1 }));
    await settle();
    expect(broker.calls).toEqual(["put d-1 enabled"]);

    await registry.update("d-1", (r) => ({ ...r, labels: { site: "a" } }));
    await settle();
    expect(broker.calls).toEqual(["put d-1 enabled"]); // a label: nothing for the broker

    await registry.update("d-1", (r) => ({ ...r, enabled: false }));
    await registry.update("d-1", (r) => ({ ...r, sealedPassword: sealPassword("pw-2", key), credentialsRotatedAtMs: 2 }));
    await registry.update("d-1", (r) => ({ ...r, enabled: true }));
    await registry.delete("d-1");
    await settle();
    expect(broker.calls).toEqual(["put d-1 enabled", "disable d-1", "put d-1 disabled", "enable d-1", "remove d-1"]);
    expect(broker.accounts.size).toBe(0);
    expect(sync.stats).toMatchObject({ passwordsSet: 2, enabledSet: 2, removed: 1, pending: 0 });
  });

  it("retries broker errors with backoff on the clock, in order, and counts them", async () => {
    const registry = new MemoryDeviceRegistry();
    const broker = new FakeBroker();
    const clock = new SimClock();
    sync = await startBrokerSync(registry, broker, { secretKey: key, log, clock, retryBaseMs: 100, retryMaxMs: 1000 });
    await sync.ready;
    broker.failures = [0, 1, 2].map(() => new ShoalError("broker away", { code: "timeout", retryable: true }));
    await registry.create(testDeviceRecord("r-1", { sealedPassword: sealPassword("pw", key) }));
    await registry.create(testDeviceRecord("r-2", { sealedPassword: sealPassword("pw", key) }));
    await settle();
    expect(broker.calls).toEqual([]); // first try failed, waiting 100 ms
    await clock.advance(100); // second try fails, waits 200
    await clock.advance(200); // third fails, waits 400
    expect(broker.calls).toEqual([]);
    await clock.advance(400);
    await settle();
    expect(broker.calls).toEqual(["put r-1 enabled", "put r-2 enabled"]);
    expect(sync.stats.brokerErrors).toBe(3);
  });

  it("gives up a change after permanent errors (logged, counted) and goes on with the next", async () => {
    const registry = new MemoryDeviceRegistry();
    const broker = new FakeBroker();
    const clock = new SimClock();
    sync = await startBrokerSync(registry, broker, { secretKey: key, log, clock, retryBaseMs: 10, retryMaxMs: 10, permanentTries: 2 });
    await sync.ready;
    // A live change reads the account first, then sets it: two permanent failures for each.
    broker.failures = [0, 1, 2, 3].map(() => new ShoalError("not a device's account", { code: "conflict" }));
    await registry.create(testDeviceRecord("bad-1", { sealedPassword: sealPassword("pw", key) }));
    await registry.create(testDeviceRecord("ok-1", { sealedPassword: sealPassword("pw", key) }));
    await settle();
    await clock.advance(10);
    await settle();
    await clock.advance(10);
    await settle();
    expect(broker.calls).toEqual(["put ok-1 enabled"]);
    expect(sync.stats).toMatchObject({ failed: 2, brokerErrors: 4 });
  });

  it("through the plain port (no versions): trusts existing passwords, applies every flag, removes extras", async () => {
    const registry = new MemoryDeviceRegistry();
    const broker = new FakeBroker();
    await registry.create(testDeviceRecord("p-1", { sealedPassword: sealPassword("pw", key), enabled: false }));
    await registry.create(testDeviceRecord("p-2", { sealedPassword: sealPassword("pw", key) }));
    broker.accounts.set("p-1", { password: "old", enabled: true, rotatedAtMs: undefined });
    broker.accounts.set("p-2", { password: "old", enabled: true, rotatedAtMs: undefined });
    broker.accounts.set("p-3", { password: "old", enabled: true, rotatedAtMs: undefined });
    sync = await startBrokerSync(registry, plainPort(broker), { secretKey: key, log, clock: new SimClock() });
    await sync.ready;
    expect(broker.calls.sort()).toEqual(["disable p-1", "enable p-2", "remove p-3"]);
    expect(broker.accounts.get("p-2")?.password).toBe("old");
    // A rotation afterwards is applied.
    await registry.update("p-2", (r) => ({ ...r, sealedPassword: sealPassword("new", key), credentialsRotatedAtMs: r.credentialsRotatedAtMs + 1 }));
    await settle();
    expect(broker.accounts.get("p-2")?.password).toBe("new");
  });

  it("stop() ends the loop and a stopped sync applies nothing more", async () => {
    const registry = new MemoryDeviceRegistry();
    const broker = new FakeBroker();
    const s = await startBrokerSync(registry, broker, { secretKey: key, log, clock: new SimClock() });
    await s.ready;
    await s.stop();
    await registry.create(testDeviceRecord("late-1", { sealedPassword: sealPassword("pw", key) }));
    await settle();
    expect(broker.calls).toEqual([]);
  });
});
