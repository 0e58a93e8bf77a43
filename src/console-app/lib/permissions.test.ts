import { describe, expect, it } from "vitest";
import { ACTIONS, also, parseRole, permission, permissions, roleFor } from "./permissions.js";

describe("permissions", () => {
  it("viewer reads only, operator acts, admin also configures", () => {
    const enabled = (role: "viewer" | "operator" | "admin") =>
      Object.entries(permissions(role))
        .filter(([, p]) => p.allowed)
        .map(([a]) => a)
        .sort();
    expect(enabled("viewer")).toEqual([]);
    expect(enabled("operator")).toEqual(["acknowledge", "createDevice", "deleteSilence", "drain", "enableDevice", "importDevices", "rebalance", "resolve", "restartWorker", "sendCommand", "silence", "updateDevice"]);
    expect(enabled("admin")).toEqual(Object.keys(ACTIONS).sort());
  });

  it("says why a control is disabled", () => {
    expect(permission("viewer", "acknowledge")).toEqual({ allowed: false, reason: "Needs the operator role; you are signed in as viewer." });
    expect(permission("operator", "editConfig")).toEqual({ allowed: false, reason: "Needs the admin role; you are signed in as operator." });
    expect(roleFor("rollbackConfig")).toBe("admin");
    // Device credentials, deletes and the audit log are the admin's (src/access/roles.ts).
    expect([roleFor("rotateCredentials"), roleFor("deleteDevice"), roleFor("readAudit"), roleFor("sendCommand")]).toEqual(["admin", "admin", "admin", "operator"]);
  });

  it("reads unknown roles as viewer", () => {
    expect(parseRole("Admin")).toBe("admin");
    expect(parseRole(" operator ")).toBe("operator");
    expect(parseRole("")).toBe("viewer");
    expect(parseRole("root")).toBe("viewer");
  });

  it("combines a role with another condition, the role's reason first", () => {
    expect(also(permission("admin", "editConfig"), false, "read-only")).toEqual({ allowed: false, reason: "read-only" });
    expect(also(permission("admin", "editConfig"), true, "read-only")).toEqual({ allowed: true });
    expect(also(permission("viewer", "editConfig"), false, "read-only")).toMatchObject({ reason: expect.stringMatching(/admin role/) });
  });
});
