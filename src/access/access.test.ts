import { describe, expect, it } from "vitest";
import { ACCESS_TABLE, createAccessCheck, isAudited, isRefusal, methodRule, permit, requiredRole, roleAllows } from "./index.js";

const tokens = [
  { name: "watcher", role: "viewer", token: "v".repeat(24) },
  { name: "oncall", role: "operator", token: "o".repeat(24) },
  { name: "root", role: "admin", token: "a".repeat(24) },
] as const;

describe("access", () => {
  it("roles include the ones below them", () => {
    expect(roleAllows("admin", "operator")).toBe(true);
    expect(roleAllows("operator", "viewer")).toBe(true);
    expect(roleAllows("viewer", "operator")).toBe(false);
    expect(roleAllows("operator", "admin")).toBe(false);
  });

  it("reads need viewer, actions operator, config writes admin", () => {
    expect(requiredRole("shoal.v1.QueryService", "ListDevices")).toBe("viewer");
    expect(requiredRole("shoal.v1.AlertService", "AcknowledgeAlert")).toBe("operator");
    expect(requiredRole("shoal.v1.AdminService", "DrainNode")).toBe("operator");
    expect(requiredRole("shoal.v1.AdminService", "WatchCluster")).toBe("viewer");
    expect(requiredRole("shoal.v1.ConfigService", "SetConfigKey")).toBe("admin");
    expect(requiredRole("shoal.v1.ConfigService", "ValidateConfigChange")).toBe("viewer");
  });

  it("without tokens every caller is an admin", () => {
    const a = createAccessCheck([]);
    expect(a.enforced).toBe(false);
    expect(a.authorize(undefined, "shoal.v1.ConfigService", "SetConfigKey")).toEqual({ name: "anonymous", role: "admin" });
  });

  it("with tokens: none or unknown is unauthenticated, a small role is denied, and no message holds a token", () => {
    const a = createAccessCheck(tokens);
    expect(a.enforced).toBe(true);
    const none = a.authorize(undefined, "shoal.v1.QueryService", "ListDevices");
    expect(isRefusal(none) && none.kind).toBe("unauthenticated");
    const wrong = a.authorize(`Bearer ${"x".repeat(24)}`, "shoal.v1.QueryService", "ListDevices");
    expect(isRefusal(wrong) && wrong.kind).toBe("unauthenticated");
    expect(a.authorize(`Bearer ${"v".repeat(24)}`, "shoal.v1.QueryService", "ListDevices")).toEqual({ name: "watcher", role: "viewer" });
    const denied = a.authorize(`Bearer ${"v".repeat(24)}`, "shoal.v1.AdminService", "DrainNode");
    expect(isRefusal(denied) && denied.kind).toBe("denied");
    expect(isRefusal(denied) && denied.message).toBe("DrainNode needs the operator role; watcher is viewer");
    expect(a.authorize(`bearer ${"o".repeat(24)}`, "shoal.v1.AdminService", "DrainNode")).toEqual({ name: "oncall", role: "operator" });
    const op = a.authorize(`Bearer ${"o".repeat(24)}`, "shoal.v1.ConfigService", "RollbackConfig");
    expect(isRefusal(op) && op.kind).toBe("denied");
    for (const r of [none, wrong, denied, op]) for (const t of tokens) expect(JSON.stringify(r)).not.toContain(t.token);
  });

  it("rejects malformed headers", () => {
    const a = createAccessCheck(tokens);
    for (const h of ["", "Basic abc", "Bearer", `Bearer ${"v".repeat(24)} extra`]) expect(isRefusal(a.authenticate(h))).toBe(true);
  });
});

describe("the access table", () => {
  it("classifies the device registry, the audit log and the gateway; fails closed on what it does not know", () => {
    expect(requiredRole("shoal.v1.DeviceService", "ListDevices")).toBe("viewer");
    expect(requiredRole("shoal.v1.DeviceService", "SetDeviceEnabled")).toBe("operator");
    expect(requiredRole("shoal.v1.DeviceService", "RotateCredentials")).toBe("admin");
    expect(requiredRole("shoal.v1.DeviceService", "DeleteDevice")).toBe("admin");
    expect(requiredRole("shoal.v1.AuditService", "ListAuditEvents")).toBe("admin");
    expect(methodRule("shoal.v1.ModelGatewayService", "Score")).toEqual({ role: "operator", audited: false });
    // Unknown services and methods (and inherited property names) need admin and are audited.
    for (const [s, m] of [["shoal.v1.DeviceService", "SendCommand"], ["shoal.v1.NewService", "Anything"], ["constructor", "toString"], ["shoal.v1.QueryService", "constructor"]] as const) {
      expect(methodRule(s, m)).toEqual({ role: "admin", audited: true });
    }
    // Every rule above viewer is audited except the gateway's (internal, not a change).
    for (const [service, methods] of Object.entries(ACCESS_TABLE)) {
      for (const [method, rule] of Object.entries(methods)) {
        expect(isAudited(service, method), `${service}/${method}`).toBe(rule.role !== "viewer" && service !== "shoal.v1.ModelGatewayService");
      }
    }
  });

  it("a denied caller is told which role it needs (permit)", () => {
    expect(permit({ name: "oncall", role: "operator" }, "shoal.v1.DeviceService", "DeleteDevice")).toEqual({ kind: "denied", message: "DeleteDevice needs the admin role; oncall is operator" });
    expect(permit({ name: "root", role: "admin" }, "shoal.v1.DeviceService", "DeleteDevice")).toBeUndefined();
  });
});
