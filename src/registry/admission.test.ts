import { describe, expect, it } from "vitest";
import { RegistryAdmission } from "./admission.js";
import { MemoryDeviceRegistry } from "./memory-registry.js";
import { testDeviceRecord as rec } from "./testing-records.js";

describe("RegistryAdmission", () => {
  it("loads the registry on start, then follows creates, disables, enables and deletes", async () => {
    const reg = new MemoryDeviceRegistry();
    await reg.create(rec("on"));
    await reg.create(rec("off", { enabled: false }));
    const adm = new RegistryAdmission(reg);
    expect(adm.check("on")).toBe("unknown"); // before start: nothing known
    await adm.start();
    expect([adm.check("on"), adm.check("off"), adm.check("ghost")]).toEqual(["known", "disabled", "unknown"]);
    expect(adm.size).toBe(2);

    await reg.create(rec("new"));
    expect(adm.check("new")).toBe("known");
    await reg.update("on", (c) => ({ ...c, enabled: false }));
    expect(adm.check("on")).toBe("disabled");
    await reg.update("off", (c) => ({ ...c, enabled: true }));
    expect(adm.check("off")).toBe("known");
    await reg.delete("on");
    expect(adm.check("on")).toBe("unknown");
    expect(adm.size).toBe(2);

    await adm.stop();
    await reg.create(rec("later"));
    expect(adm.check("later")).toBe("unknown");
  });
});
