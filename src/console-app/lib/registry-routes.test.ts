import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { COMMAND_STATUS_FILTERS, ENABLED_FILTERS } from "./registry-model.js";
import type { Route } from "./router.js";
import { formatRoute, parseHash } from "./router.js";

describe("routes of the Devices, Commands and Audit pages", () => {
  it("reads their filters, defaults left out of links", () => {
    expect(parseHash("#/devices")).toEqual({ page: "devices", prefix: "", type: "", label: "", enabled: "any" });
    expect(parseHash("#/devices?prefix=d-&type=thermo&label=site%3Db&enabled=disabled")).toEqual({ page: "devices", prefix: "d-", type: "thermo", label: "site=b", enabled: "disabled" });
    expect(parseHash("#/devices?enabled=bogus").page === "devices" && (parseHash("#/devices?enabled=bogus") as { enabled: string }).enabled).toBe("any");
    expect(parseHash("#/commands?device=d-1&command=c9")).toEqual({ page: "commands", device: "d-1", command: "c9" });
    expect(parseHash("#/commands?status=failed,bogus,pending")).toEqual({ page: "commands", device: "", command: "", statuses: ["pending", "failed"] });
    expect(formatRoute({ page: "commands", device: "", command: "", statuses: ["expired", "pending"] })).toBe("#/commands?status=pending%2Cexpired");
    expect(parseHash("#/audit?actor=ops&action=shoal.v1.DeviceService%2F&target=device%2F")).toEqual({ page: "audit", actor: "ops", action: "shoal.v1.DeviceService/", target: "device/" });
    expect(parseHash("#/devices/x").page).toBe("not-found");
    expect(formatRoute({ page: "devices", prefix: "", type: "", label: "", enabled: "any" })).toBe("#/devices");
    expect(formatRoute({ page: "commands", device: "d-1", command: "" })).toBe("#/commands?device=d-1");
    expect(formatRoute({ page: "audit", actor: "", action: "", target: "" })).toBe("#/audit");
  });

  it("round-trips: parseHash(formatRoute(r)) is r", () => {
    const text = fc.string({ maxLength: 20 });
    const route = fc.oneof(
      fc.record({ prefix: text, type: text, label: text, enabled: fc.constantFrom(...ENABLED_FILTERS) }).map((r): Route => ({ page: "devices", ...r })),
      fc.record({ device: text, command: text }).map((r): Route => ({ page: "commands", ...r })),
      fc.record({ device: text, command: text, statuses: fc.subarray([...COMMAND_STATUS_FILTERS], { minLength: 1 }) }).map((r): Route => ({ page: "commands", ...r })),
      fc.record({ actor: text, action: text, target: text }).map((r): Route => ({ page: "audit", ...r })),
    );
    fc.assert(
      fc.property(route, (r) => {
        expect(parseHash(formatRoute(r))).toEqual(r);
      }),
    );
  });
});
