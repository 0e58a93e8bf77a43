import * as grpc from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HostIntrospection } from "../ports/actor-host.js";
import { ADMIN_SERVICE_NAME, startAdminServer, type AdminServer } from "./admin-server.js";
import { createAdminService } from "./admin-service.js";
import { AdminCallError, createAdminClient, type AdminClient } from "./client.js";
import { NotClusteredError, statusOf } from "./errors.js";

const view: HostIntrospection = {
  workers: [0, 1].map((worker) => ({
    worker,
    partitions: [worker],
    activeByType: { device: 10 + worker },
    mailboxDepth: 0,
    maxMailboxDepth: 0,
    inFlight: 0,
    turns: 100 * (worker + 1),
    activations: 10,
    passivations: 0,
    restarts: 0,
    deadLetters: 0,
    snapshots: 1,
    skipped: 0,
    configVersion: "",
    turnLatencyUs: { p50: 1, p99: 2, max: 3 },
    logicCounters: {},
  })),
  workerRestarts: 0,
  pendingSnapshots: 0,
};

/** The admin server over a loopback socket, with an in-memory runtime (no cluster). */
describe("admin gRPC server (in-memory runtime)", () => {
  let server: AdminServer;
  let client: AdminClient;
  const restarted: number[] = [];

  beforeAll(async () => {
    server = await startAdminServer(
      createAdminService({
        info: { nodeId: "n1", roles: ["runtime"], version: "1.2.3", startedAtMs: 1_700_000_000_000 },
        counters: () => ({ "runtime.acked": 42 }),
        runtime: {
          introspect: async () => view,
          restartWorker: async (i) => {
            if (i >= view.workers.length) throw new RangeError(`worker ${i} does not exist (this pool has workers 0..1)`);
            restarted.push(i);
          },
        },
      }),
      { port: 0 },
    );
    client = createAdminClient(server.address, { timeoutMs: 5000 });
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it("answers GetInfo, GetCounters and GetRuntimeStats", async () => {
    expect(await client.getInfo()).toMatchObject({ nodeId: "n1", roles: ["runtime"], version: "1.2.3", startedAtMs: 1_700_000_000_000n });
    expect((await client.getCounters()).counters).toEqual({ "runtime.acked": 42 });
    const stats = await client.getRuntimeStats();
    expect(stats.workers.map((w) => [w.index, w.turns, w.activeByType.device])).toEqual([
      [0, 100n, 10n],
      [1, 200n, 11n],
    ]);
  });

  it("RestartWorker restarts a worker; an unknown index is INVALID_ARGUMENT with the runtime's message", async () => {
    await client.restartWorker(1);
    expect(restarted).toEqual([1]);
    const err = await client.restartWorker(5).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdminCallError);
    expect(err).toMatchObject({ status: grpc.status.INVALID_ARGUMENT, message: "RestartWorker: INVALID_ARGUMENT: worker 5 does not exist (this pool has workers 0..1)" });
  });

  it("cluster RPCs fail with FAILED_PRECONDITION outside cluster mode", async () => {
    for (const call of [() => client.listMembers(), () => client.getPartitionMap()]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toMatchObject({ status: grpc.status.FAILED_PRECONDITION });
      expect((err as Error).message).toContain("not running in cluster mode");
    }
  });

  it("health of the admin service follows setServing; the process itself is SERVING", async () => {
    const Health = grpc.makeGenericClientConstructor(healthService, "Health");
    const h = new Health(server.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      check(req: { service: string }, cb: (e: grpc.ServiceError | null, r: { status: string }) => void): void;
    };
    const check = (service: string) => new Promise<string>((res, rej) => h.check({ service }, (e, r) => (e ? rej(e) : res(r.status))));
    try {
      expect(await check("")).toBe("SERVING");
      expect(await check(ADMIN_SERVICE_NAME)).toBe("NOT_SERVING");
      server.setServing(true);
      expect(await check(ADMIN_SERVICE_NAME)).toBe("SERVING");
      server.setServing(false);
      expect(await check(ADMIN_SERVICE_NAME)).toBe("NOT_SERVING");
    } finally {
      h.close();
    }
  });
});

describe("statusOf", () => {
  it("maps admin errors to gRPC status codes", () => {
    expect(statusOf(new RangeError("bad"))).toBe(grpc.status.INVALID_ARGUMENT);
    expect(statusOf(new NotClusteredError("ListMembers"))).toBe(grpc.status.FAILED_PRECONDITION);
    expect(statusOf(Object.assign(new Error("consul down"), { retryable: true }))).toBe(grpc.status.UNAVAILABLE);
    expect(statusOf(new TypeError("bug"))).toBe(grpc.status.INTERNAL);
    expect(statusOf("weird")).toBe(grpc.status.INTERNAL);
  });
});

describe("admin gRPC server (cluster mode, in-memory ClusterAdmin)", () => {
  it("serves the cluster RPCs from the ClusterAdmin; a DrainNode without node_id is INVALID_ARGUMENT", async () => {
    const drained: Array<[string, boolean]> = [];
    const server = await startAdminServer(
      createAdminService({
        info: { nodeId: "n1", roles: ["runtime"], version: "0", startedAtMs: 0 },
        counters: () => ({}),
        cluster: {
          members: async () => [{ node: "n1", session: "s1", startedAtMs: 5, pid: 42, leaving: false, drained: false, owned: 2, target: 2 }],
          partitionMap: async () => [
            { partition: 0, owner: "n1", target: "n1", pending: 3, ackPending: 0 },
            { partition: 1, owner: undefined, target: "n1", pending: undefined, ackPending: undefined },
          ],
          rebalance: async () => {},
          drain: async (node, on) => void drained.push([node, on]),
          history: async () => [],
        },
      }),
      { port: 0 },
    );
    const client = createAdminClient(server.address);
    try {
      expect((await client.listMembers()).members.map((m) => [m.nodeId, m.pid, m.ownedPartitions])).toEqual([["n1", 42, 2]]);
      const map = await client.getPartitionMap();
      expect(map.partitions.map((p) => [p.partition, p.owner, p.pending])).toEqual([
        [0, "n1", 3n],
        [1, "", -1n],
      ]);
      expect(map.misplaced).toBe(1);
      await client.drainNode("n2", true);
      await client.rebalance();
      await expect(client.drainNode("", true)).rejects.toMatchObject({ status: grpc.status.INVALID_ARGUMENT, message: "DrainNode: INVALID_ARGUMENT: DrainNodeRequest.node_id is required" });
      // GetRuntimeStats needs a runtime this process does not have.
      await expect(client.getRuntimeStats()).rejects.toMatchObject({ status: grpc.status.FAILED_PRECONDITION });
    } finally {
      client.close();
      await server.close();
    }
    expect(drained).toEqual([["n2", true]]);
  });
});
