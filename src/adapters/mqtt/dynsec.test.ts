import { describe, expect, it } from "vitest";
import { BRIDGE_ACLS, DEVICE_ID, GATEWAY_ACLS, deviceAcls, deviceRoleName, sameAcls } from "./dynsec-roles.js";

/**
 * The ACLs the dynsec adapter writes (the adapter itself runs against real Mosquitto in
 * test/integration/broker-auth.test.ts).
 */
describe("dynamic-security roles", () => {
  it("a device's role names its own topics literally (Mosquitto 2.0 substitutes no %u), with no wildcard but its own subtree", () => {
    const acls = deviceAcls("dev-42");
    expect(deviceRoleName("dev-42")).toBe("shoal-device-dev-42");
    expect(acls).toEqual([
      { acltype: "publishClientSend", topic: "devices/dev-42/#", allow: true },
      { acltype: "subscribePattern", topic: "devices/dev-42/commands", allow: true },
      { acltype: "publishClientReceive", topic: "devices/dev-42/commands", allow: true },
    ]);
    for (const a of acls) expect(a.topic.startsWith("devices/dev-42/")).toBe(true);
  });

  it("device ids that could widen a topic are not device ids", () => {
    for (const bad of ["+", "#", "a/b", "", "x".repeat(129), "%u", "a b"]) expect(DEVICE_ID.test(bad)).toBe(false);
    for (const good of ["d", "dev-1", "A_b-9", "x".repeat(128)]) expect(DEVICE_ID.test(good)).toBe(true);
  });

  it("service roles: the bridge reads readings and replies and sends commands; a gateway publishes readings and replies, never reads readings", () => {
    const has = (acls: typeof BRIDGE_ACLS, acltype: string, topic: string) => acls.some((a) => a.acltype === acltype && a.topic === topic && a.allow);
    expect(has(BRIDGE_ACLS, "subscribePattern", "$share/+/devices/+/readings")).toBe(true);
    expect(has(BRIDGE_ACLS, "publishClientSend", "devices/+/commands")).toBe(true);
    expect(has(BRIDGE_ACLS, "publishClientSend", "devices/+/readings")).toBe(false);
    expect(has(GATEWAY_ACLS, "publishClientSend", "devices/+/readings")).toBe(true);
    expect(GATEWAY_ACLS.some((a) => a.acltype === "subscribePattern" && a.topic.endsWith("/readings"))).toBe(false);
  });

  it("sameAcls ignores order and a default priority, and sees any other difference", () => {
    const acls = deviceAcls("d1");
    expect(sameAcls(acls, [...acls].reverse())).toBe(true);
    expect(sameAcls(acls, acls.map((a) => ({ ...a, priority: 0 })))).toBe(true);
    expect(sameAcls(acls, acls.slice(1))).toBe(false);
    expect(sameAcls(acls, acls.map((a, i) => (i === 0 ? { ...a, allow: false } : a)))).toBe(false);
    expect(sameAcls(acls, deviceAcls("d2"))).toBe(false);
  });
});
