import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { AdminService, DrainNodeRequestSchema, RebalanceRequestSchema, RestartWorkerRequestSchema } from "../gen/shoal/v1/admin_pb.js";
import { AcknowledgeAlertRequestSchema, AlertService, DeleteSilenceRequestSchema, SilenceAlertsRequestSchema } from "../gen/shoal/v1/alert_pb.js";
import { ConfigService, SetConfigKeyRequestSchema } from "../gen/shoal/v1/config_pb.js";
import { DeviceCommandService, SendCommandRequestSchema } from "../gen/shoal/v1/command_pb.js";
import { CreateDeviceRequestSchema, CreateDeviceResponseSchema, DeviceService, ImportDevicesRequestSchema, SetDeviceEnabledRequestSchema } from "../gen/shoal/v1/device_pb.js";
import type { AuditEvent, AuditLog } from "../ports/audit.js";
import { auditEventOf, outcomeOf, redactedDetails, targetOf } from "./audit.js";
import { AuditRecorder } from "./audit-recorder.js";

const oncall = { name: "oncall", role: "operator" } as const;

describe("audit event of a call", () => {
  it("says who, what, to what, from where, how it ended and the request", () => {
    const request = create(SetDeviceEnabledRequestSchema, { id: "d-17", enabled: false, reason: "stolen" });
    const ev = auditEventOf({ service: DeviceService.typeName, method: DeviceService.method.setDeviceEnabled, request, caller: oncall, source: "127.0.0.1:53122", error: undefined, atMs: 1234 });
    expect(ev).toEqual({
      atMs: 1234,
      actor: "oncall",
      actorRole: "operator",
      source: "127.0.0.1:53122",
      action: "shoal.v1.DeviceService/SetDeviceEnabled",
      target: "device/d-17",
      outcome: "ok",
      details: { id: "d-17", reason: "stolen" },
    });
    const denied = auditEventOf({ service: DeviceService.typeName, method: DeviceService.method.setDeviceEnabled, request, caller: undefined, source: "", error: new ConnectError("no", Code.PermissionDenied), atMs: 1 });
    expect(denied).toMatchObject({ actor: "anonymous", actorRole: "", outcome: "permission_denied" });
  });

  it("outcome: ok, the Connect code name, internal for anything that is not a ConnectError", () => {
    expect(outcomeOf(undefined)).toBe("ok");
    expect(outcomeOf(new ConnectError("x", Code.InvalidArgument))).toBe("invalid_argument");
    expect(outcomeOf(new ConnectError("x", Code.DeadlineExceeded))).toBe("deadline_exceeded");
    expect(outcomeOf(new Error("boom"))).toBe("internal");
  });

  it("a request that is not a message of the method's input (a hand-written codec's value) gives no target and no details", () => {
    const ev = auditEventOf({ service: AdminService.typeName, method: AdminService.method.drainNode, request: [{ nodeId: "n1" }], caller: oncall, source: "", error: undefined, atMs: 1 });
    expect(ev).toMatchObject({ target: "", details: {} });
  });

  it("target: the first present of id, device_id, alert_id, silence_id, node_id, path/key (and a worker's index)", () => {
    const t = (service: string, desc: Parameters<typeof targetOf>[1], msg: object) => targetOf(service, desc, msg);
    expect(t(DeviceService.typeName, CreateDeviceRequestSchema, create(CreateDeviceRequestSchema, { id: "d-1", type: "pump" }))).toBe("device/d-1");
    // The AlertService's `id` is a silence's.
    expect(t(AlertService.typeName, DeleteSilenceRequestSchema, create(DeleteSilenceRequestSchema, { id: "s-9", by: "x" }))).toBe("silence/s-9");
    expect(t(AlertService.typeName, AcknowledgeAlertRequestSchema, create(AcknowledgeAlertRequestSchema, { alertId: "a-3" }))).toBe("alert/a-3");
    expect(t(AlertService.typeName, SilenceAlertsRequestSchema, create(SilenceAlertsRequestSchema, { deviceId: "d-2", rule: "hot" }))).toBe("device/d-2");
    expect(t(AdminService.typeName, DrainNodeRequestSchema, create(DrainNodeRequestSchema, { nodeId: "n1", drain: true }))).toBe("node/n1");
    expect(t(AdminService.typeName, RestartWorkerRequestSchema, create(RestartWorkerRequestSchema, { index: 0 }))).toBe("worker/0");
    expect(t(ConfigService.typeName, SetConfigKeyRequestSchema, create(SetConfigKeyRequestSchema, { path: "detector.threshold", valueYaml: "0.9" }))).toBe("config/detector.threshold");
    expect(t(AdminService.typeName, RebalanceRequestSchema, create(RebalanceRequestSchema))).toBe("");
    // An empty id is not present: the next field counts.
    expect(t(AlertService.typeName, SilenceAlertsRequestSchema, create(SilenceAlertsRequestSchema, { deviceId: "", rule: "hot" }))).toBe("");
  });
});

describe("audit details: secrets never", () => {
  it("redacts fields named like secrets at any depth, enc: values and passwords in URLs", () => {
    const res = create(CreateDeviceResponseSchema, { device: { id: "d-1", labels: { apiToken: "t0ps3cret", site: "north", url: "mqtt://u:hunter2@broker", key: "enc:abc" } }, credentials: { username: "d-1", password: "p4ss" } });
    const d = redactedDetails(CreateDeviceResponseSchema, res);
    expect(d).toEqual({ device: { id: "d-1", labels: { apiToken: "[redacted]", site: "north", url: "[redacted]", key: "[redacted]" } }, credentials: "[redacted]" });
    const text = JSON.stringify(d);
    for (const secret of ["t0ps3cret", "hunter2", "p4ss", "enc:abc"]) expect(text).not.toContain(secret);
  });

  it("a config value is redacted when its path is a secret, when the YAML holds one, or when it does not parse", () => {
    const details = (path: string, valueYaml: string) => redactedDetails(SetConfigKeyRequestSchema, create(SetConfigKeyRequestSchema, { path, valueYaml, message: "why" }));
    expect(details("detector.threshold", "0.9")).toEqual({ path: "detector.threshold", valueYaml: "0.9", message: "why" });
    expect(details("nats.password", "hunter2")).toMatchObject({ valueYaml: "[redacted]" });
    expect(details("gateway.providers.openai.apiKey", "sk-1")).toMatchObject({ valueYaml: "[redacted]" });
    expect(details("console.tokens", "[{name: ops, role: admin, token: abcdefghijklmnopqrstu}]")).toMatchObject({ valueYaml: "[redacted]" });
    expect(details("nats", "{url: 'nats://a:b@h:4222'}")).toMatchObject({ valueYaml: "[redacted]" });
    expect(details("nats.url", "enc:Zm9v")).toMatchObject({ valueYaml: "[redacted]" });
    expect(details("detector", "{a: [unclosed")).toMatchObject({ valueYaml: "[redacted]" });
    expect(details("detector", "{threshold: 0.9}")).toMatchObject({ valueYaml: "{threshold: 0.9}" });
  });

  it("a command's JSON payload keeps its shape without its secrets; one that does not parse is redacted", () => {
    const send = (payloadJson: string) => create(SendCommandRequestSchema, { deviceId: "d-1", name: "configure", payloadJson });
    const ev = auditEventOf({ service: DeviceCommandService.typeName, method: DeviceCommandService.method.sendCommand, request: send('{"wifi":{"ssid":"home","password":"hunter2"},"rate":5}'), caller: oncall, source: "", error: undefined, atMs: 1 });
    expect(ev.target).toBe("device/d-1");
    expect(ev.details).toEqual({ deviceId: "d-1", name: "configure", payloadJson: '{"wifi":{"ssid":"home","password":"[redacted]"},"rate":5}' });
    expect(redactedDetails(SendCommandRequestSchema, send('{"password": "hunter2"'))).toMatchObject({ payloadJson: "[redacted]" });
  });

  it("an imported CSV becomes its line count; long strings are cut", () => {
    const csv = "id,type,labels\nd-1,pump,site=north\nd-2,pump,\n";
    expect(redactedDetails(ImportDevicesRequestSchema, create(ImportDevicesRequestSchema, { csv }))).toEqual({ csvLines: 3 });
    const long = redactedDetails(SetDeviceEnabledRequestSchema, create(SetDeviceEnabledRequestSchema, { id: "d", reason: "x".repeat(5000) })) as { reason: string };
    expect(long.reason.startsWith("x".repeat(1024))).toBe(true);
    expect(long.reason).toContain("3976 more characters");
  });
});

describe("audit recorder", () => {
  const event = (n: number): AuditEvent => ({ atMs: n, actor: "a", actorRole: "admin", source: "", action: "x/Y", target: "", outcome: "ok", details: {} });

  it("starts writes at once up to its bound, then makes callers wait for a finished write; never rejects", async () => {
    const finish: Array<() => void> = [];
    const started: number[] = [];
    const log: AuditLog = {
      record: (e) => {
        started.push(e.atMs);
        if (e.atMs === 3) return Promise.reject(new Error("store down"));
        return new Promise<void>((resolve) => finish.push(resolve));
      },
    };
    const r = new AuditRecorder(log, 2);
    let thirdStarted = false;
    await r.submit(event(1));
    await r.submit(event(2));
    const third = r.submit(event(3)).then(() => (thirdStarted = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([1, 2]);
    expect(thirdStarted).toBe(false);
    finish[0]!();
    await third;
    expect(started).toEqual([1, 2, 3]);
    // The rejected write frees its slot too, and a throwing log does not throw here.
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.pending).toBe(1);
    const throwing = new AuditRecorder({ record: () => { throw new Error("sync"); } }, 1);
    await expect(throwing.submit(event(4))).resolves.toBeUndefined();
    await expect(throwing.submit(event(5))).resolves.toBeUndefined();
  });
});
