import { describe, expect, it } from "vitest";
import { natsServers } from "./connection.js";

describe("natsServers", () => {
  it("splits nats.url's comma list into one server each, trimmed", () => {
    expect(natsServers("nats://127.0.0.1:14222, nats://127.0.0.1:14223,nats://127.0.0.1:14224")).toEqual([
      "nats://127.0.0.1:14222",
      "nats://127.0.0.1:14223",
      "nats://127.0.0.1:14224",
    ]);
  });

  it("takes an array too, and a single URL as one server", () => {
    expect(natsServers(["nats://a:1", "nats://b:2,nats://c:3"])).toEqual(["nats://a:1", "nats://b:2", "nats://c:3"]);
    expect(natsServers("nats://127.0.0.1:14222")).toEqual(["nats://127.0.0.1:14222"]);
  });

  it("drops empty entries (a trailing comma)", () => {
    expect(natsServers("nats://a:1,")).toEqual(["nats://a:1"]);
  });
});
