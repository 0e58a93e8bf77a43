import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKvDeviceRegistry } from "../../src/adapters/nats/device-registry-kv.js";
import { systemClock } from "../../src/base/clock.js";
import { addDeviceService, createDeviceService } from "../../src/device-service/index.js";
import { RecordingBroker } from "../../src/device-service/testing.js";
import { shutdownServer } from "../../src/grpc/index.js";
import type { DeviceRegistry } from "../../src/ports/device-registry.js";
import { unsealPassword, verifyPassword } from "../../src/registry/credentials.js";
import { startNats, type ServiceHandle } from "../harness/index.js";
import { pythonClient } from "../support/python-client.js";

/**
 * shoal.v1.DeviceService served by grpc-js on a real port over the NATS KV registry (real
 * nats-server), called by a client nobody here wrote: Debian's python3-grpcio with message classes
 * from `buf build`'s descriptor set (test/clients/descriptor_client.py). The script is written by
 * this test next to the descriptor set and imports descriptor_client from test/clients.
 */
const clients = fileURLToPath(new URL("../clients", import.meta.url));
const SCRIPT = `#!/usr/bin/python3
import sys
sys.path.insert(0, ${JSON.stringify(clients)})
from descriptor_client import DescriptorClient

address, descriptors = sys.argv[1], sys.argv[2]
client = DescriptorClient(address, descriptors, "shoal.v1.DeviceService")
client.unary("CreateDevice", id="py-therm-1", type="thermostat", labels={"site": "berlin", "floor": "2"})
client.unary("GetDevice", id="py-therm-1")
client.unary("CreateDevice", id="py-therm-1")
client.unary("GetDevice", id="py-nobody")
client.unary("CreateDevice", id="bad id!")
client.unary("ListDevices", idPrefix="py-", pageSize=10)
`;
const KEY = Buffer.alloc(32, 9);

describe("DeviceService over gRPC (real NATS KV, python3-grpcio client)", () => {
  let nats: ServiceHandle;
  let nc: NatsConnection;
  let registry: DeviceRegistry;
  const broker = new RecordingBroker();
  let server: grpc.Server;
  let address = "";
  let dir: string;
  let py: ReturnType<typeof pythonClient>;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    registry = await createKvDeviceRegistry(nc, { bucket: "devices_grpc_test", replicas: 1 });
    server = new grpc.Server();
    addDeviceService(server, createDeviceService({ registry, broker, secretKey: KEY, clock: systemClock }), { timeoutMs: 30_000, maxConcurrentPerCaller: 8, maxStreamsPerCaller: 8 });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    address = `127.0.0.1:${port}`;
    dir = mkdtempSync(join(tmpdir(), "shoal-device-py-"));
    const script = join(dir, "device_client.py");
    writeFileSync(script, SCRIPT);
    py = pythonClient(relative(clients, script), () => address);
    py.build();
  }, 120_000);

  afterAll(async () => {
    if (server) await shutdownServer(server, 1000);
    await nc?.close();
    await nats?.cleanup();
    py?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("creates and gets a device; errors arrive as gRPC status codes", async () => {
    const lines = await py.run([]);
    expect(lines.map((l) => [l.call, l.ok, l.code ?? "OK"])).toEqual([
      ["CreateDevice", true, "OK"],
      ["GetDevice", true, "OK"],
      ["CreateDevice", false, "ALREADY_EXISTS"],
      ["GetDevice", false, "NOT_FOUND"],
      ["CreateDevice", false, "INVALID_ARGUMENT"],
      ["ListDevices", true, "OK"],
    ]);
    const created = lines[0]!.response as { device: Record<string, unknown>; credentials: { username: string; password: string } };
    expect(created.device).toMatchObject({ id: "py-therm-1", type: "thermostat", labels: { site: "berlin", floor: "2" }, enabled: true, updatedBy: "anonymous" });
    expect(created.credentials.username).toBe("py-therm-1");
    // The password the python client got is the one the registry (NATS KV) verifies and the broker was given.
    const stored = (await registry.get("py-therm-1"))!;
    expect(await verifyPassword(created.credentials.password, stored.passwordHash)).toBe(true);
    expect(unsealPassword(stored.sealedPassword, KEY)).toBe(created.credentials.password);
    expect(broker.calls).toEqual([["putDevice", "py-therm-1", created.credentials.password, true, stored.credentialsRotatedAtMs]]);

    const got = lines[1]!.response as { device: Record<string, unknown>; credentials?: unknown };
    expect(got.device).toMatchObject({ id: "py-therm-1", type: "thermostat", labels: { site: "berlin", floor: "2" }, revision: String(stored.revision), createdAtMs: String(stored.createdAtMs) });
    expect(JSON.stringify(got)).not.toContain(created.credentials.password);
    expect(lines[2]!.details).toBe("device py-therm-1 exists already");
    expect(lines[3]!.details).toBe("device py-nobody: not found");
    expect(lines[4]!.details).toMatch(/^id: must match/);
    expect(lines[5]!.response).toMatchObject({ total: "1", devices: [{ id: "py-therm-1" }] });
  });
});
