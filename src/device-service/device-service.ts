import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { Clock } from "../ports/clock.js";
import type { BrokerAccounts, DeviceRegistry } from "../ports/device-registry.js";
import type { DeviceService } from "../gen/shoal/v1/device_pb.js";
import { guard } from "../grpc/guard.js";
import { credentialsOf, deviceOf, matches } from "./convert.js";
import { importDevices } from "./import.js";
import { callerName, inRegistry, mintPassword, toBroker } from "./steps.js";
import * as v from "./validate.js";

/** What the DeviceService works with. */
export interface DeviceServiceDeps {
  /** The source of truth (NATS KV in production). */
  readonly registry: DeviceRegistry;
  /** The MQTT broker's device accounts, when Shoal drives them (`registry.syncBroker` and a broker admin configured). */
  readonly broker?: BrokerAccounts;
  /** SHOAL_SECRET_KEY: seals each password in the registry so a lost broker account can be rebuilt. Absent: only the hash is kept. */
  readonly secretKey?: Buffer;
  readonly clock: Clock;
  /** Where unexpected errors go (callers see INTERNAL without them). Never given a password. */
  readonly onInternalError?: (method: string, err: unknown) => void;
}

/**
 * shoal.v1.DeviceService as a Connect implementation (served over gRPC by
 * src/grpc/connect-on-grpc.ts, see ./server.ts, and over HTTP by src/grpc/web-server.ts).
 *
 * Arguments are validated first (./validate.ts: INVALID_ARGUMENT naming the field); the registry's
 * refusals are NOT_FOUND, ALREADY_EXISTS and ABORTED (stale expected_revision); `updated_by` is
 * the caller's token name ("anonymous" when the server checks no tokens). Passwords are generated
 * here, stored only as a hash and sealed (`secretKey`), returned once in the answer of the call
 * that made them and never logged. Every write is recorded in the audit log by the port's call
 * policy (`CallPolicy.audit`, src/grpc/audit.ts: the request, never a response), not here.
 *
 * Broker: when `broker` is given, each write also goes to the broker's account, synchronously,
 * AFTER the registry write (the registry is the source of truth). A broker failure fails the call
 * UNAVAILABLE with a message saying what was stored; the registry change stays, and the
 * registry → broker reconciler (another component, driven by DeviceRegistry.watch) re-applies it
 * when the broker is back. For CreateDevice and RotateCredentials the password that failed is not
 * returned, so the device needs RotateCredentials once the broker answers again.
 */
export function createDeviceService(d: DeviceServiceDeps): ServiceImpl<typeof DeviceService> {
  const guarded = guard(d.onInternalError ?? (() => {}));

  return {
    createDevice: guarded(async (req, ctx) => {
      const id = v.deviceId(req.id);
      const type = v.deviceType(req.type);
      const labels = v.labels(req.labels);
      const pw = await mintPassword(d.secretKey);
      const now = d.clock.now();
      const enabled = !req.disabled;
      const record = await inRegistry(id, d.registry.create({ id, type, labels, enabled, createdAtMs: now, updatedAtMs: now, credentialsRotatedAtMs: now, updatedBy: callerName(ctx), passwordHash: pw.passwordHash, sealedPassword: pw.sealedPassword }));
      await toBroker(d.broker, `device ${id} is registered but the broker could not store its account; its password is not returned: rotate it (RotateCredentials) once the broker answers`, pw.password, (b) => b.putDevice(id, pw.password, enabled, record.credentialsRotatedAtMs));
      return { device: deviceOf(record), credentials: credentialsOf(id, pw.password) };
    }),

    getDevice: guarded(async (req) => {
      const id = v.deviceId(req.id);
      const record = await d.registry.get(id);
      if (record === undefined) throw new ConnectError(`device ${id}: not found`, Code.NotFound);
      return { device: deviceOf(record) };
    }),

    listDevices: guarded(async (req) => {
      const filter = { prefix: v.idPrefix(req.idPrefix), type: req.type === "" ? "" : v.deviceType(req.type), labels: v.labels(req.labels), enabled: v.enabledFilter(req.enabledFilter) };
      const size = v.pageSize(req.pageSize);
      const after = v.pageAfter(req.pageToken);
      const all = (await d.registry.list()).filter((r) => matches(r, filter));
      const rest = after === undefined ? all : all.filter((r) => r.id > after);
      const page = rest.slice(0, size);
      return { devices: page.map(deviceOf), nextPageToken: rest.length > size ? v.pageTokenOf(page[page.length - 1]!.id) : "", total: BigInt(all.length) };
    }),

    updateDevice: guarded(async (req, ctx) => {
      const id = v.deviceId(req.id);
      const set = v.labels(req.setLabels, "set_labels");
      const remove = v.removeLabels(req.removeLabels, set);
      const type = req.type === undefined ? undefined : v.deviceType(req.type);
      const expected = v.expectedRevision(req.expectedRevision);
      const by = callerName(ctx);
      const record = await inRegistry(
        id,
        d.registry.update(
          id,
          (cur) => {
            const labels: Record<string, string> = { ...cur.labels, ...set };
            for (const k of remove) delete labels[k];
            const { revision: _revision, ...rest } = cur;
            return { ...rest, labels: v.mergedLabels(labels), type: type ?? cur.type, updatedAtMs: d.clock.now(), updatedBy: by };
          },
          expected,
        ),
      );
      return { device: deviceOf(record) };
    }),

    setDeviceEnabled: guarded(async (req, ctx) => {
      const id = v.deviceId(req.id);
      v.reason(req.reason);
      const by = callerName(ctx);
      const record = await inRegistry(
        id,
        d.registry.update(id, (cur) => {
          const { revision: _revision, ...rest } = cur;
          return { ...rest, enabled: req.enabled, updatedAtMs: d.clock.now(), updatedBy: by };
        }),
      );
      const state = req.enabled ? "enabled" : "disabled";
      await toBroker(d.broker, `device ${id} is ${state} in the registry but the broker did not take it yet; the registry reconciler applies it, or call again`, undefined, (b) => b.setEnabled(id, req.enabled));
      return { device: deviceOf(record) };
    }),

    rotateCredentials: guarded(async (req, ctx) => {
      const id = v.deviceId(req.id);
      if ((await d.registry.get(id)) === undefined) throw new ConnectError(`device ${id}: not found`, Code.NotFound);
      const pw = await mintPassword(d.secretKey);
      const by = callerName(ctx);
      const record = await inRegistry(
        id,
        d.registry.update(id, (cur) => {
          const { revision: _revision, ...rest } = cur;
          const now = d.clock.now();
          return { ...rest, passwordHash: pw.passwordHash, sealedPassword: pw.sealedPassword, credentialsRotatedAtMs: now, updatedAtMs: now, updatedBy: by };
        }),
      );
      await toBroker(d.broker, `device ${id} has a new password in the registry but the broker could not take it; the new password is not returned: rotate again once the broker answers`, pw.password, (b) => b.putDevice(id, pw.password, record.enabled, record.credentialsRotatedAtMs));
      return { device: deviceOf(record), credentials: credentialsOf(id, pw.password) };
    }),

    deleteDevice: guarded(async (req) => {
      const id = v.deviceId(req.id);
      if (!(await d.registry.delete(id))) throw new ConnectError(`device ${id}: not found`, Code.NotFound);
      await toBroker(d.broker, `device ${id} is deleted from the registry but the broker still has its account; the registry reconciler removes it`, undefined, (b) => b.removeDevice(id));
      return {};
    }),

    importDevices: guarded(async (req, ctx) => importDevices(v.importCsv(req.csv), callerName(ctx), { registry: d.registry, broker: d.broker, secretKey: d.secretKey, clock: d.clock }, ctx.signal)),
  };
}
