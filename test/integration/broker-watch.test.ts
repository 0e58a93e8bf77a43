import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { watchBroker } from "../../src/adapters/mqtt/broker-watch.js";
import type { Incident } from "../../src/ports/incidents.js";
import { startMosquitto, type ServiceHandle } from "../harness/index.js";
import { waitFor } from "../support/pipeline.js";

/** A restart of the real Mosquitto (which runs without persistence) is reported as an incident. */
describe("broker watch (real Mosquitto)", () => {
  let mosquitto: ServiceHandle;
  beforeAll(async () => {
    mosquitto = await startMosquitto();
  });
  afterAll(async () => {
    await mosquitto?.cleanup();
  });

  it("reports a broker restart, with what it had stored", async () => {
    const incidents: Incident[] = [];
    const watch = watchBroker({ url: mosquitto.url, clientId: "watch-test" }, { report: (i) => incidents.push(i), degradedReason: () => "" });
    try {
      // Two uptime reports (sys_interval 5 s) so the watch has seen this broker live before it restarts.
      await new Promise((r) => setTimeout(r, 6_000));
      await mosquitto.restart();
      await waitFor(async () => watch.restarts(), (n) => n >= 1, 30_000, "the watch to see the restart");
      expect(incidents.map((i) => i.kind)).toEqual(["broker.restarted"]);
      expect(incidents[0]!.detail).toMatchObject({ messagesStoredAtLastReport: expect.any(Number) });
      // What it reported is below what the old uptime had grown to (the last report before the
      // restart may be the broker's first, uptime 0, so the old uptime itself is no bound).
      const d = incidents[0]!.detail!;
      expect(Number(d.uptimeS)).toBeLessThan(Number(d.expectedUptimeS));
      expect(Number(d.expectedUptimeS)).toBeGreaterThanOrEqual(Number(d.uptimeBeforeS));
    } finally {
      await watch.close();
    }
  }, 60_000);
});
