import { Code, ConnectError, createClient, createRouterTransport, type Client, type Interceptor } from "@connectrpc/connect";
import { beforeEach, describe, expect, it } from "vitest";
import { CALLER, type Caller } from "../access/index.js";
import { ShoalError } from "../base/errors.js";
import { SimClock } from "../base/testing/sim-clock.js";
import { DeviceService } from "../gen/shoal/v1/device_pb.js";
import type { DeviceRecord } from "../ports/device-registry.js";
import { unsealPassword, verifyPassword } from "../registry/credentials.js";
import { MemoryDeviceRegistry } from "../registry/memory-registry.js";
import { createDeviceService, type DeviceServiceDeps } from "./device-service.js";
import { RecordingBroker } from "./testing.js";
import { MAX_IMPORT_BYTES } from "./validate.js";

/** Logic of the device service over the in-memory registry and a recording broker (gRPC and python: test/integration/device-service-grpc.test.ts). */
const T0 = Date.UTC(2026, 11, 1);
const KEY = Buffer.alloc(32, 7);
const OPERATOR: Caller = { name: "oncall", role: "operator" };

const asCaller =
  (caller: Caller): Interceptor =>
  (next) =>
  (req) => {
    req.contextValues.set(CALLER, caller);
    return next(req);
  };

const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );

describe("DeviceService logic", () => {
  let clock: SimClock;
  let registry: MemoryDeviceRegistry;
  let broker: RecordingBroker;
  let internal: Array<[string, unknown]>;

  const build = (extra: Partial<DeviceServiceDeps> = {}, caller: Caller | null = OPERATOR): Client<typeof DeviceService> => {
    const impl = createDeviceService({ registry, broker, secretKey: KEY, clock, onInternalError: (m, e) => void internal.push([m, e]), ...extra });
    return createClient(DeviceService, createRouterTransport(({ service }) => service(DeviceService, impl), caller ? { router: { interceptors: [asCaller(caller)] } } : {}));
  };
  const stored = async (id: string): Promise<DeviceRecord> => (await registry.get(id))!;

  beforeEach(() => {
    clock = new SimClock(T0);
    registry = new MemoryDeviceRegistry();
    broker = new RecordingBroker();
    internal = [];
  });

  it("rejects bad arguments with INVALID_ARGUMENT naming the field, writing nothing", async () => {
    const c = build();
    await c.createDevice({ id: "d-1" });
    const calls = broker.calls.length;
    const cases: Array<[() => Promise<unknown>, RegExp]> = [
      [() => c.createDevice({ id: "" }), /^id: required/],
      [() => c.createDevice({ id: "a b" }), /^id: must match/],
      [() => c.createDevice({ id: "x".repeat(129) }), /^id: must match/],
      [() => c.createDevice({ id: "d-2", type: "no spaces" }), /^type: must match/],
      [() => c.createDevice({ id: "d-2", labels: { "bad key": "v" } }), /^labels: key "bad key"/],
      [() => c.createDevice({ id: "d-2", labels: { k: "a\nb" } }), /^labels\[k\]: must not contain control/],
      [() => c.createDevice({ id: "d-2", labels: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, "v"])) }), /^labels: at most 32/],
      [() => c.getDevice({ id: "../etc" }), /^id: must match/],
      [() => c.listDevices({ pageSize: 1001 }), /^page_size: must be between 1 and 1000/],
      [() => c.listDevices({ pageSize: -1 }), /^page_size/],
      [() => c.listDevices({ idPrefix: "a/b" }), /^id_prefix: must match/],
      [() => c.listDevices({ enabledFilter: 3 }), /^enabled_filter: must be 0/],
      [() => c.listDevices({ pageToken: "!!not-ours" }), /^page_token: not a token this service gave/],
      [() => c.listDevices({ type: "a b" }), /^type: must match/],
      [() => c.listDevices({ labels: { "a b": "x" } }), /^labels: key/],
      [() => c.updateDevice({ id: "d-1", setLabels: { k: "v" }, removeLabels: ["k"] }), /^remove_labels: k is also in set_labels/],
      [() => c.updateDevice({ id: "d-1", removeLabels: ["a b"] }), /^remove_labels: "a b" is not a label key/],
      [() => c.updateDevice({ id: "d-1", setLabels: { "": "v" } }), /^set_labels: key ""/],
      [() => c.updateDevice({ id: "d-1", type: "a/b" }), /^type: must match/],
      [() => c.updateDevice({ id: "d-1", expectedRevision: 2n ** 60n }), /^expected_revision: too large/],
      [() => c.setDeviceEnabled({ id: "d-1", enabled: false, reason: "r".repeat(1025) }), /^reason: longer than 1024/],
      [() => c.rotateCredentials({ id: "" }), /^id: required/],
      [() => c.deleteDevice({ id: "a b" }), /^id: must match/],
      [() => c.importDevices({ csv: " " }), /^csv: required/],
      [() => c.importDevices({ csv: "name,kind\nx,y\n" }), /^csv: line 1: header: unknown column "name"/],
      [() => c.importDevices({ csv: "id\n" }), /^csv: no devices/],
      [() => c.importDevices({ csv: `id\n${"a\n".repeat(MAX_IMPORT_BYTES / 2 + 1)}` }), /^csv: \d+ bytes: at most 4194304/],
    ];
    for (const [f, reason] of cases) {
      const e = await errorOf(f());
      expect(e?.code, String(reason)).toBe(Code.InvalidArgument);
      expect(e!.rawMessage).toMatch(reason);
    }
    expect((await registry.list()).map((r) => r.id)).toEqual(["d-1"]);
    expect((await stored("d-1")).revision).toBe(1);
    expect(broker.calls.length).toBe(calls);
  });

  it("creates a device: the password is returned once, verifies against the stored hash, is sealed with the key and given to the broker", async () => {
    const c = build();
    const r = await c.createDevice({ id: "therm-1", type: "thermostat", labels: { site: "berlin" } });
    const pw = r.credentials!.password;
    expect(r.credentials!.username).toBe("therm-1");
    expect(pw.length).toBeGreaterThanOrEqual(24);
    expect(r.device).toMatchObject({ id: "therm-1", type: "thermostat", labels: { site: "berlin" }, enabled: true, createdAtMs: BigInt(T0), updatedAtMs: BigInt(T0), credentialsRotatedAtMs: BigInt(T0), updatedBy: "oncall", revision: 1n });
    const rec = await stored("therm-1");
    expect(await verifyPassword(pw, rec.passwordHash)).toBe(true);
    expect(await verifyPassword(`${pw}x`, rec.passwordHash)).toBe(false);
    expect(rec.passwordHash).not.toContain(pw);
    expect(unsealPassword(rec.sealedPassword, KEY)).toBe(pw);
    expect(broker.calls).toEqual([["putDevice", "therm-1", pw, true, T0]]);
    // Reads never carry it again.
    const got = await c.getDevice({ id: "therm-1" });
    expect(JSON.stringify(got, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))).not.toContain(pw);
    expect(got.device?.updatedBy).toBe("oncall");

    const off = await c.createDevice({ id: "therm-2", disabled: true });
    expect(off.device?.enabled).toBe(false);
    expect(broker.calls[1]).toEqual(["putDevice", "therm-2", off.credentials!.password, false, T0]);
    expect(off.credentials!.password).not.toBe(pw);

    const dup = await errorOf(c.createDevice({ id: "therm-1" }));
    expect(dup?.code).toBe(Code.AlreadyExists);
    expect(dup?.rawMessage).toBe("device therm-1 exists already");
    expect(broker.calls.length).toBe(2);
  });

  it("without a secret key only the hash is kept; without tokens the change is by anonymous", async () => {
    const c = build({ secretKey: undefined }, null);
    const r = await c.createDevice({ id: "d-1" });
    expect(r.device?.updatedBy).toBe("anonymous");
    expect((await stored("d-1")).sealedPassword).toBe("");
  });

  it("gets one device, NOT_FOUND for an unknown one", async () => {
    const c = build();
    await c.createDevice({ id: "d-1", type: "meter" });
    expect((await c.getDevice({ id: "d-1" })).device?.type).toBe("meter");
    const e = await errorOf(c.getDevice({ id: "nope" }));
    expect(e?.code).toBe(Code.NotFound);
    expect(e?.rawMessage).toBe("device nope: not found");
  });

  it("lists in id order with filters, pages with opaque tokens and counts the matches of all pages", async () => {
    const c = build({ broker: undefined, secretKey: undefined });
    const ids = ["a-3", "a-1", "b-1", "a-2", "a-4", "c-1"];
    for (const [i, id] of ids.entries()) await c.createDevice({ id, type: i % 2 === 0 ? "meter" : "valve", labels: { site: id.startsWith("a") ? "berlin" : "oslo" }, disabled: id === "a-2" });
    const all = await c.listDevices({});
    expect(all.devices.map((d) => d.id)).toEqual(["a-1", "a-2", "a-3", "a-4", "b-1", "c-1"]);
    expect(all.total).toBe(6n);
    expect(all.nextPageToken).toBe("");

    const seen: string[] = [];
    let token = "";
    do {
      const page = await c.listDevices({ idPrefix: "a-", pageSize: 2, pageToken: token });
      expect(page.total).toBe(4n);
      expect(page.devices.length).toBeLessThanOrEqual(2);
      seen.push(...page.devices.map((d) => d.id));
      token = page.nextPageToken;
    } while (token !== "");
    expect(seen).toEqual(["a-1", "a-2", "a-3", "a-4"]);

    const ids_ = async (req: Parameters<typeof c.listDevices>[0]) => (await c.listDevices(req)).devices.map((d) => d.id);
    expect(await ids_({ type: "meter" })).toEqual(["a-3", "a-4", "b-1"]);
    expect(await ids_({ labels: { site: "oslo" } })).toEqual(["b-1", "c-1"]);
    expect(await ids_({ labels: { site: "oslo", other: "x" } })).toEqual([]);
    expect(await ids_({ enabledFilter: 1, idPrefix: "a" })).toEqual(["a-1", "a-3", "a-4"]);
    expect(await ids_({ enabledFilter: 2 })).toEqual(["a-2"]);
    expect((await c.listDevices({ pageSize: 1000 })).devices.length).toBe(6);
  });

  it("updates labels and type, compare-and-set on expected_revision (ABORTED when stale)", async () => {
    const c = build();
    await c.createDevice({ id: "d-1", type: "meter", labels: { site: "berlin", floor: "2" } });
    await clock.advance(1000);
    const u = await c.updateDevice({ id: "d-1", setLabels: { site: "oslo", rack: "7" }, removeLabels: ["floor", "absent"] });
    expect(u.device).toMatchObject({ labels: { site: "oslo", rack: "7" }, type: "meter", updatedAtMs: BigInt(T0 + 1000), createdAtMs: BigInt(T0), updatedBy: "oncall" });
    const rev = u.device!.revision;
    const t = await c.updateDevice({ id: "d-1", type: "valve", expectedRevision: rev });
    expect(t.device).toMatchObject({ type: "valve", labels: { site: "oslo", rack: "7" } });
    const stale = await errorOf(c.updateDevice({ id: "d-1", type: "meter", expectedRevision: rev }));
    expect(stale?.code).toBe(Code.Aborted);
    expect(stale?.rawMessage).toBe("device d-1 was changed meanwhile (not at expected_revision, or changed on every try): read it again and retry");
    expect((await stored("d-1")).type).toBe("valve");
    expect((await errorOf(c.updateDevice({ id: "ghost", setLabels: { a: "b" } })))?.code).toBe(Code.NotFound);
    const many = Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`k${i}`, "v"]));
    const tooMany = await errorOf(c.updateDevice({ id: "d-1", setLabels: many }));
    expect(tooMany?.code).toBe(Code.InvalidArgument);
    expect(tooMany?.rawMessage).toMatch(/^set_labels: the device's labels would be invalid: at most 32 labels \(got 33\)/);
    expect(broker.calls.map((x) => x[0])).toEqual(["putDevice"]); // labels are not the broker's
    // The password survives updates.
    const rec = await stored("d-1");
    expect(rec.passwordHash).toMatch(/^scrypt\$/);
  });

  it("disables and enables through the registry, then the broker", async () => {
    const c = build();
    await c.createDevice({ id: "d-1" });
    const off = await c.setDeviceEnabled({ id: "d-1", enabled: false, reason: "stolen" });
    expect(off.device?.enabled).toBe(false);
    expect((await stored("d-1")).enabled).toBe(false);
    const on = await build({}, { name: "root", role: "admin" }).setDeviceEnabled({ id: "d-1", enabled: true });
    expect(on.device).toMatchObject({ enabled: true, updatedBy: "root" });
    expect(broker.calls.slice(1)).toEqual([
      ["setEnabled", "d-1", false],
      ["setEnabled", "d-1", true],
    ]);
    expect((await errorOf(c.setDeviceEnabled({ id: "ghost", enabled: false })))?.code).toBe(Code.NotFound);
    expect(broker.calls.length).toBe(3);
  });

  it("rotates credentials: a new password, returned once, the old one no longer verifies, the broker gets it", async () => {
    const c = build();
    const first = (await c.createDevice({ id: "d-1", disabled: true })).credentials!.password;
    await clock.advance(5000);
    const r = await c.rotateCredentials({ id: "d-1" });
    const pw = r.credentials!.password;
    expect(pw).not.toBe(first);
    expect(r.credentials!.username).toBe("d-1");
    expect(r.device).toMatchObject({ credentialsRotatedAtMs: BigInt(T0 + 5000), createdAtMs: BigInt(T0), enabled: false });
    const rec = await stored("d-1");
    expect(await verifyPassword(pw, rec.passwordHash)).toBe(true);
    expect(await verifyPassword(first, rec.passwordHash)).toBe(false);
    expect(unsealPassword(rec.sealedPassword, KEY)).toBe(pw);
    expect(broker.calls.at(-1)).toEqual(["putDevice", "d-1", pw, false, T0 + 5000]);
    expect((await errorOf(c.rotateCredentials({ id: "ghost" })))?.code).toBe(Code.NotFound);
  });

  it("deletes the device and its broker account; NOT_FOUND the second time", async () => {
    const c = build();
    await c.createDevice({ id: "d-1" });
    await c.deleteDevice({ id: "d-1" });
    expect(await registry.get("d-1")).toBeUndefined();
    expect(broker.calls.at(-1)).toEqual(["removeDevice", "d-1"]);
    expect(broker.accounts.has("d-1")).toBe(false);
    expect((await errorOf(c.deleteDevice({ id: "d-1" })))?.code).toBe(Code.NotFound);
    expect((await errorOf(c.getDevice({ id: "d-1" })))?.code).toBe(Code.NotFound);
  });

  it("a broker failure is UNAVAILABLE saying what was stored; the registry change stays; the password is in no message", async () => {
    const c = build();
    const pw = (await c.createDevice({ id: "d-1" })).credentials!.password;
    broker.fail = new Error("connection refused");
    const cases: Array<[() => Promise<unknown>, RegExp]> = [
      [() => c.createDevice({ id: "d-2" }), /^device d-2 is registered but the broker could not store its account; its password is not returned: rotate it/],
      [() => c.setDeviceEnabled({ id: "d-1", enabled: false }), /^device d-1 is disabled in the registry but the broker did not take it yet/],
      [() => c.rotateCredentials({ id: "d-1" }), /^device d-1 has a new password in the registry but the broker could not take it/],
      [() => c.deleteDevice({ id: "d-2" }), /^device d-2 is deleted from the registry but the broker still has its account/],
    ];
    for (const [f, reason] of cases) {
      const e = await errorOf(f());
      expect(e?.code, String(reason)).toBe(Code.Unavailable);
      expect(e!.rawMessage).toMatch(reason);
      expect(e!.rawMessage).toMatch(/\(broker: connection refused\)$/);
    }
    const rec = await stored("d-1");
    expect(rec.enabled).toBe(false);
    expect(await verifyPassword(pw, rec.passwordHash)).toBe(false); // rotated in the registry
    expect(await registry.get("d-2")).toBeUndefined(); // created, then deleted
    // A broker that echoes the password back in its error: blanked out.
    let sent = "";
    broker.putDevice = async (id, password) => {
      sent = password;
      throw new Error(`bad password ${password} for ${id}`);
    };
    const e = await errorOf(c.rotateCredentials({ id: "d-1" }));
    expect(sent.length).toBeGreaterThan(20);
    expect(e?.code).toBe(Code.Unavailable);
    expect(e?.rawMessage).toContain("bad password <redacted> for d-1");
    expect(e?.rawMessage).not.toContain(sent);
    expect(internal).toEqual([]);
  });

  it("imports a CSV: new ids created with fresh passwords, existing ones skipped, the broker gets each", async () => {
    const c = build();
    await c.createDevice({ id: "old-1" });
    const r = await c.importDevices({ csv: "id,type,labels\nnew-1,meter,site=berlin;floor=2\nold-1,meter,\nnew-2,,\n" });
    expect(r.created).toBe(2);
    expect(r.skipped).toBe(1);
    expect(r.devices.map((d) => [d.id, d.skipped, d.credentials?.username ?? ""])).toEqual([
      ["new-1", false, "new-1"],
      ["old-1", true, ""],
      ["new-2", false, "new-2"],
    ]);
    const n1 = await stored("new-1");
    expect(n1).toMatchObject({ type: "meter", labels: { site: "berlin", floor: "2" }, enabled: true, updatedBy: "oncall" });
    expect(await verifyPassword(r.devices[0]!.credentials!.password, n1.passwordHash)).toBe(true);
    expect(await verifyPassword(r.devices[2]!.credentials!.password, (await stored("new-2")).passwordHash)).toBe(true);
    expect(broker.calls.slice(1).sort()).toEqual([
      ["putDevice", "new-1", r.devices[0]!.credentials!.password, true, T0],
      ["putDevice", "new-2", r.devices[2]!.credentials!.password, true, T0],
    ]);
    expect((await stored("old-1")).revision).toBe(1);
  });

  it("one bad row (or an id twice) rejects the whole import, naming the line", async () => {
    const c = build();
    const bad = await errorOf(c.importDevices({ csv: "id,type\nok-1,meter\nok-2,meter\nbad id,meter\n" }));
    expect(bad?.code).toBe(Code.InvalidArgument);
    expect(bad?.rawMessage).toMatch(/^csv: line 4: id: must match/);
    const twice = await errorOf(c.importDevices({ csv: "id\nx-1\nx-2\nx-1\n" }));
    expect(twice?.code).toBe(Code.InvalidArgument);
    expect(twice?.rawMessage).toMatch(/^csv: line 4: id "x-1" is also on line 2/);
    expect(await registry.list()).toEqual([]);
    expect(broker.calls).toEqual([]);
  });

  it("an import the broker fails stops, UNAVAILABLE naming how many were created", async () => {
    const c = build();
    broker.fail = new Error("broker down");
    const e = await errorOf(c.importDevices({ csv: "id\nx-1\n" }));
    expect(e?.code).toBe(Code.Unavailable);
    expect(e?.rawMessage).toBe("import stopped; 1 device(s) created, whose passwords are not returned (rotate them, or delete and import again): x-1; device x-1 (line 2) is registered but the broker could not store its account (broker: broker down)");
    expect((await registry.list()).map((r) => r.id)).toEqual(["x-1"]);
  });

  it("an import the store fails part way is UNAVAILABLE naming the devices it did create", async () => {
    const c = build();
    const create = registry.create.bind(registry);
    registry.create = async (rec) => {
      if (rec.id !== "x-1") throw new ShoalError("kv timeout", { code: "storage_unavailable", retryable: true });
      return create(rec);
    };
    const e = await errorOf(c.importDevices({ csv: "id\nx-1\nx-2\nx-3\nx-4\n" }));
    expect(e?.code).toBe(Code.Unavailable);
    expect(e?.rawMessage).toBe("import stopped; 1 device(s) created, whose passwords are not returned (rotate them, or delete and import again): x-1; unavailable, retry: kv timeout");
    expect((await registry.list()).map((r) => r.id)).toEqual(["x-1"]);
  });

  it("a retryable store failure is UNAVAILABLE; anything unexpected INTERNAL without internals, reported to onInternalError", async () => {
    const c = build();
    registry.list = async () => {
      throw new ShoalError("kv timeout", { code: "unavailable", retryable: true });
    };
    const u = await errorOf(c.listDevices({}));
    expect(u?.code).toBe(Code.Unavailable);
    expect(u?.rawMessage).toBe("unavailable, retry: kv timeout");
    registry.get = async () => {
      throw new TypeError("secret internals");
    };
    const i = await errorOf(c.getDevice({ id: "d-1" }));
    expect(i?.code).toBe(Code.Internal);
    expect(i?.rawMessage).not.toContain("secret internals");
    expect(internal.map(([m, e]) => [m, (e as Error).message])).toEqual([["GetDevice", "secret internals"]]);
  });
});
