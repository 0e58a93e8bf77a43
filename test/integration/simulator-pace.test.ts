import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simulate } from "../../src/simulator/simulator.js";
import { sleep } from "../../src/base/clock.js";
import { startMosquitto, type ServiceHandle } from "../harness/index.js";

/**
 * The simulator's `pace`: a run that starts slowly and is sped up part-way (the cluster chaos test
 * streams slowly while nodes join, drain and die, then finishes at full speed). Real Mosquitto, a
 * plain mqtt.js subscriber counting what arrives.
 */
describe("simulate with a pace that changes during the run", () => {
  let broker: ServiceHandle;
  let sub: MqttClient;
  const arrived: number[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    sub = await mqtt.connectAsync(broker.url, { clientId: "pace-sub", protocolVersion: 5, clean: true });
    sub.on("message", () => arrived.push(Date.now()));
    await sub.subscribeAsync("devices/+/readings", { qos: 1 });
  });
  afterAll(async () => {
    await sub?.endAsync();
    await broker?.cleanup();
  });

  it("measures at the first rate until the pace changes, then at the new one; every reading once", async () => {
    const DEVICES = 10;
    const PER_DEVICE = 40;
    let rate = 20;
    let progress = { acked: 0 };
    const t0 = Date.now();
    const run = simulate({ url: broker.url, devices: DEVICES, readingsPerDevice: PER_DEVICE, rate: 20, pace: () => rate, devicePrefix: "pace", onProgress: (s) => (progress = s) });
    await sleep(1000);
    // 20 per second so far (the first reading goes at once), however late this wakes up: far from the 400 of the run.
    const slowPhase = progress.acked;
    expect(slowPhase).toBeLessThanOrEqual(Math.floor(((Date.now() - t0) / 1000) * 20) + 1);
    rate = 20_000;
    const s = await run;
    expect(s).toMatchObject({ sent: DEVICES * PER_DEVICE, acked: DEVICES * PER_DEVICE, failed: 0 });
    // At 20/s the run would take 20 s; sped up, the other ~370 readings take well under that.
    expect(s.elapsedMs).toBeLessThan(10_000);
    await sleep(200);
    expect(arrived).toHaveLength(DEVICES * PER_DEVICE);
  });

  it("refuses a pace that is not a positive rate", async () => {
    await expect(simulate({ url: broker.url, devices: 1, readingsPerDevice: 5, rate: 10, pace: () => 0, devicePrefix: "pace0" })).rejects.toThrow(/pace gave 0 readings\/s/);
  });
});
