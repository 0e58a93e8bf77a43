import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats } from "../../src/adapters/nats/connection.js";
import { createKvCommandStore } from "../../src/adapters/nats/command-store-kv.js";
import { newCommandId } from "../../src/commands/index.js";
import type { CommandRecord, CommandRecordInput, CommandStore } from "../../src/ports/commands.js";
import { startNats, type ServiceHandle } from "../harness/index.js";

/**
 * CommandStore.list on a real NATS KV bucket (ListCommands fleet-wide and by status,
 * docs/adr/0021-device-commands.md): the keys of every device, newest first, keyset pages that
 * neither repeat nor skip while new commands arrive, a status filter that still fills its pages.
 */
describe("KV command store listing (real NATS JetStream)", () => {
  let nats: ServiceHandle;
  let nc: NatsConnection;
  let store: CommandStore;
  const t0 = Date.UTC(2026, 0, 1);

  const record = (i: number, deviceId: string, status: CommandRecordInput["status"]): CommandRecordInput => ({
    commandId: newCommandId(t0 + i),
    deviceId,
    name: `c${i}`,
    payloadJson: "{}",
    status,
    createdAtMs: t0 + i,
    expiresAtMs: t0 + i + 3_600_000,
    updatedAtMs: t0 + i,
    replyJson: "",
    reason: "",
    sentBy: "test",
    attempts: 0,
  });
  const names = (rs: readonly CommandRecord[]) => rs.map((r) => r.name);

  beforeAll(async () => {
    nats = await startNats();
    nc = await connectNats(nats.url, "command-list-kv-test");
    store = await createKvCommandStore(nc, { bucket: "command-list-test", replicas: 1, keepMs: 3_600_000 });
    // 150 commands over 5 devices (more than one read chunk of 64); every 10th acknowledged.
    for (let i = 0; i < 150; i++) await store.create(record(i, `dev-${i % 5}`, i % 10 === 0 ? "acknowledged" : "pending"));
  });

  afterAll(async () => {
    await nc?.drain();
    await nats?.cleanup();
  });

  it("lists every device's commands newest first in keyset pages, stable while new commands arrive", async () => {
    const seen: string[] = [];
    let after: CommandRecord | undefined;
    for (let page = 0; ; page++) {
      const got = await store.list({ limit: 40, ...(after === undefined ? {} : { after }) });
      seen.push(...names(got));
      if (page === 0) for (let j = 0; j < 5; j++) await store.create(record(1000 + j, `dev-${j}`, "pending")); // newer: on no later page
      if (got.length < 40) break;
      after = got[got.length - 1];
    }
    expect(seen).toEqual(Array.from({ length: 150 }, (_, i) => `c${149 - i}`));
    expect(names(await store.list({ limit: 3 }))).toEqual(["c1004", "c1003", "c1002"]);
  });

  it("one device's commands only, and a status filter fills its page from further back", async () => {
    const dev2 = await store.list({ deviceId: "dev-2", limit: 1000 });
    expect(names(dev2)).toEqual(["c1002", ...Array.from({ length: 30 }, (_, k) => `c${147 - 5 * k}`)]);
    const acked = await store.list({ limit: 10, where: (r) => r.status === "acknowledged" });
    expect(names(acked)).toEqual(["c140", "c130", "c120", "c110", "c100", "c90", "c80", "c70", "c60", "c50"]);
    const more = await store.list({ limit: 10, after: acked[acked.length - 1]!, where: (r) => r.status === "acknowledged" });
    expect(names(more)).toEqual(["c40", "c30", "c20", "c10", "c0"]);
    expect(await store.list({ deviceId: "no-such", limit: 10 })).toEqual([]);
  });
});
