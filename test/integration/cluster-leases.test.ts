import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startConsul, type ServiceHandle } from "../harness/index.js";
import { createConsulLocks, createConsulSessions } from "../../src/adapters/consul/index.js";
import { LeaseManager, clusterLayout, createClusterAdmin, findOverlaps, rendezvousAssignment, type LeaseEvent, type PartitionJournal } from "../../src/cluster/index.js";
import { waitFor } from "../support/pipeline.js";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { clusterAdminHandlers } from "../../src/cluster/index.js";
import { grpcServiceDefinition } from "../../src/grpc/index.js";
import { AdminService, DrainNodeRequestSchema, type GetPartitionMapResponse, type ListMembersResponse } from "../../src/gen/shoal/v1/admin_pb.js";
import { sleep } from "../../src/base/clock.js";

/**
 * Lease managers against a real Consul 1.8.7, with an in-memory partition owner that records when
 * each node really pulls each partition: join, drain, graceful leave and a session expiry (a node
 * whose renewals stop, like a SIGKILLed process) — never two pullers of one partition.
 */
describe("cluster leases on Consul", () => {
  let consul: ServiceHandle;
  beforeAll(async () => {
    consul = await startConsul();
  });
  afterAll(async () => {
    await consul?.cleanup();
  });

  const P = 16;
  const quiet = { info() {}, warn() {} };
  const journal: PartitionJournal = { lag: async (p) => ({ partition: p, pending: 0, ackPending: 0, ackFloor: 0 }), rewind: async () => 0 };

  /** Pulling intervals per partition across all nodes, with a check that two never overlap. */
  function pullLog() {
    const pulling = new Map<number, string>();
    const violations: string[] = [];
    return {
      violations,
      pulling,
      owner(node: string) {
        return {
          async acquire(p: number) {
            const cur = pulling.get(p);
            if (cur !== undefined && cur !== node) violations.push(`p${p}: ${node} started while ${cur} pulls`);
            pulling.set(p, node);
          },
          async release(p: number) {
            await sleep(20); // a drain takes a moment
            if (pulling.get(p) === node) pulling.delete(p);
          },
        };
      },
    };
  }

  it("converges, moves bounded on join and drain, hands off on leave, recovers an expired session — never two owners", async () => {
    const conn = { url: consul.url };
    const layout = clusterLayout("shoal", "leasetest");
    const log = pullLog();
    const events: LeaseEvent[] = [];
    const managers = new Map<string, { m: LeaseManager; locks: ReturnType<typeof createConsulLocks>; sessions: ReturnType<typeof createConsulSessions> }>();
    const start = async (node: string) => {
      const locks = createConsulLocks(conn);
      const sessions = createConsulSessions(conn);
      const m = await LeaseManager.create(
        { locks, sessions, journal, owner: log.owner(node), layout, log: quiet, onEvent: (e) => events.push(e) },
        { nodeId: node, partitions: P, maxMoves: 3, pollMs: 1000, lagPollMs: 200 },
      );
      managers.set(node, { m, locks, sessions });
      return m;
    };
    const adminLocks = createConsulLocks(conn);
    const admin = createClusterAdmin({ locks: adminLocks, layout, partitions: P, maxMoves: 3 });
    const ownersMatch = async (members: string[]) => {
      const map = await admin.partitionMap();
      const want = rendezvousAssignment(P, members);
      return map.every((x) => x.owner === want[x.partition]) && [...log.pulling.entries()].every(([p, n]) => want[p] === n) && log.pulling.size === P;
    };
    try {
      await start("n1");
      await start("n2");
      await start("n3");
      await waitFor(() => ownersMatch(["n1", "n2", "n3"]), Boolean, 30_000, "3 nodes to converge");
      await waitFor(async () => [...managers.values()].every((x) => x.m.ready()), Boolean, 10_000, "every node ready");
      expect((await admin.members()).map((m) => [m.node, m.owned])).toEqual(
        ["n1", "n2", "n3"].map((n) => [n, rendezvousAssignment(P, ["n1", "n2", "n3"]).filter((x) => x === n).length]),
      );

      // Join: n4 takes its share; at most maxMoves partitions free at any moment.
      let maxFree = 0;
      const sampler = setInterval(() => void admin.partitionMap().then((m) => (maxFree = Math.max(maxFree, m.filter((x) => x.owner === undefined).length))), 50);
      await start("n4");
      await waitFor(() => ownersMatch(["n1", "n2", "n3", "n4"]), Boolean, 30_000, "n4 to get its share");
      // Drain n2 through the admin API.
      await admin.drain("n2", true);
      await waitFor(() => ownersMatch(["n1", "n3", "n4"]), Boolean, 30_000, "n2 to be drained");
      expect((await admin.members()).find((m) => m.node === "n2")).toMatchObject({ drained: true, owned: 0, target: 0 });
      clearInterval(sampler);
      expect(maxFree).toBeLessThanOrEqual(3);

      // Graceful leave of n3: it hands everything off before its session goes.
      await managers.get("n3")!.m.leave();
      managers.delete("n3");
      await waitFor(() => ownersMatch(["n1", "n4"]), Boolean, 30_000, "n3's partitions to move after leave");

      // Session expiry ("kill"): destroy n4's session behind its back; it must fence itself, and its
      // partitions must go to n1 (n2 is drained) — then n4 rejoins with a new session and gets its share back.
      const n4 = managers.get("n4")!;
      await n4.sessions.destroy(n4.m.status().session!);
      await waitFor(() => ownersMatch(["n1", "n4"]), Boolean, 40_000, "n4 to rejoin after its session expired");
      expect(events.some((e) => e.node === "n4" && e.event === "lost")).toBe(true);

      expect(log.violations).toEqual([]);
      const history = await admin.history();
      expect(history.length).toBe(events.length);
      expect(findOverlaps(history)).toEqual([]);
    } finally {
      for (const { m, locks, sessions } of managers.values()) {
        await m.close();
        locks.close();
        sessions.close();
      }
      adminLocks.close();
    }
  });

  it("serves members, partition map, drain and rebalance over AdminService gRPC", async () => {
    const conn = { url: consul.url };
    const layout = clusterLayout("shoal", "grpctest");
    const log = pullLog();
    const locks = createConsulLocks(conn);
    const sessions = createConsulSessions(conn);
    const m = await LeaseManager.create({ locks, sessions, journal, owner: log.owner("g1"), layout, log: quiet }, { nodeId: "g1", partitions: P, pollMs: 1000 });
    const admin = createClusterAdmin({ locks, layout, partitions: P, journal });
    const server = new grpc.Server();
    const h = clusterAdminHandlers(admin);
    const unary = (f: (req: never) => Promise<unknown>): grpc.UntypedHandleCall => ((call: { request: never }, cb: (e: Error | null, r?: unknown) => void) =>
      void f(call.request).then((r) => cb(null, r), (e: Error) => cb(e))) as unknown as grpc.UntypedHandleCall;
    const def = grpcServiceDefinition(AdminService);
    server.addService(def, { ListMembers: unary(h.listMembers), GetPartitionMap: unary(h.getPartitionMap), Rebalance: unary(h.rebalance), DrainNode: unary(h.drainNode) });
    const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    const Client = grpc.makeGenericClientConstructor(def, "AdminService");
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Record<string, (req: unknown, cb: (e: Error | null, r: unknown) => void) => void>;
    const call = <T>(method: string, req: unknown) => new Promise<T>((res, rej) => client[method]!.call(client, req, (e, r) => (e ? rej(e) : res(r as T))));
    try {
      await waitFor(async () => (await call<GetPartitionMapResponse>("GetPartitionMap", {})).misplaced, (n) => n === 0, 20_000, "g1 to own everything");
      const members = await call<ListMembersResponse>("ListMembers", {});
      expect(members.members.map((x) => [x.nodeId, x.ownedPartitions, x.targetPartitions, x.drained])).toEqual([["g1", P, P, false]]);
      const map = await call<GetPartitionMapResponse>("GetPartitionMap", {});
      expect(map.partitions).toHaveLength(P);
      expect(map.partitions.every((x) => x.owner === "g1" && x.pending === 0n)).toBe(true);
      await call("DrainNode", create(DrainNodeRequestSchema, { nodeId: "g1", drain: true }));
      expect((await call<ListMembersResponse>("ListMembers", {})).members[0]).toMatchObject({ drained: true, targetPartitions: 0 });
      // The only member is drained: nobody else may take its partitions, so it keeps them.
      await call("Rebalance", {});
      expect((await admin.members())[0]).toMatchObject({ owned: P });
      await expect(call("DrainNode", create(DrainNodeRequestSchema, {}))).rejects.toThrow("DrainNodeRequest.node_id is required");
    } finally {
      (client as unknown as grpc.Client).close();
      await new Promise<void>((r) => server.tryShutdown(() => r()));
      await m.close();
      locks.close();
      sessions.close();
    }
  });
});
