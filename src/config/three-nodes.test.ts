import { describe, expect, it } from "vitest";
import { resolveConfig } from "./resolve.js";

describe("config/three-nodes.yaml", () => {
  it("resolves with every NATS node in nats.url and three replicas", () => {
    const { config } = resolveConfig({ env: { SHOAL_ENV: "three-nodes" } });
    expect(config.nats.url.split(",")).toEqual(["nats://127.0.0.1:14222", "nats://127.0.0.1:14223", "nats://127.0.0.1:14224"]);
    expect(config.nats.replicas).toBe(3);
  });
});
