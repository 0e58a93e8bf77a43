import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { connect } from "@nats-io/transport-node";
import { service as healthService } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, releasePort, startClickHouse, startConsul, startNats, type ServiceHandle } from "../harness/index.js";
import { ensureJournal } from "../../src/adapters/nats/streams.js";
import { JournalPublisher } from "../../src/adapters/nats/journal-publisher.js";
import { encodeReading } from "../../src/domain/reading-codec.js";
import { partitionOf } from "../../src/domain/partition.js";
import { readingSubject } from "../../src/domain/subjects.js";
import { grpcServiceDefinition } from "../../src/grpc/index.js";
import { run as adminCli } from "../../src/cli/admin.command.js";
import { run as clusterCli } from "../../src/cli/cluster.command.js";
import {
  AdminService,
  RestartWorkerRequestSchema,
  type GetCountersResponse,
  type GetInfoResponse,
  type GetRuntimeStatsResponse,
} from "../../src/gen/shoal/v1/admin_pb.js";
import { exited, pipelineEnv, spawnRole, waitFor } from "../support/pipeline.js";

/**
 * `shoal runtime` as a process (single node, 2 worker threads): its admin gRPC server answered by a
 * plain @grpc/grpc-js client, health, reflection, RestartWorker, and its status HTTP port
 * (/readyz, /metrics with the runtime introspection gauges).
 */
const PARTITIONS = 8;
const DEVICES = 40;
const VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

type Unary = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void;

describe("admin gRPC of shoal runtime", () => {
  let nats: ServiceHandle;
  let ch: ServiceHandle;
  let adminPort: number;
  let webPort: number;
  let rt: ReturnType<typeof spawnRole> | undefined;
  let out = "";
  let client: grpc.Client & Record<string, Unary>;
  const reap = () => rt && rt.exitCode === null && rt.signalCode === null && rt.kill("SIGKILL");

  const call = <T>(method: string, req: unknown = {}) =>
    new Promise<T>((resolve, reject) => client[method]!.call(client, req, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (e, r) => (e ? reject(e) : resolve(r as T))));
  const http = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${webPort}${path}`);
    return { status: res.status, body: await res.text() };
  };
  const sum = (s: GetRuntimeStatsResponse, f: (w: GetRuntimeStatsResponse["workers"][number]) => bigint) => s.workers.reduce((a, w) => a + f(w), 0n);
  const devices = (s: GetRuntimeStatsResponse) => sum(s, (w) => w.activeByType.device ?? 0n);

  async function publish(round: number): Promise<void> {
    const nc = await connect({ servers: nats.url });
    try {
      const pub = JournalPublisher.create(nc, 256);
      await Promise.all(
        Array.from({ length: DEVICES }, (_, d) => {
          const deviceId = `adm-${d}`;
          const reading = { deviceId, seq: round, tsMs: 1_764_000_000_000 + round * 1000, metrics: { temperature: 20 + (d % 5) } };
          return pub.publish(readingSubject(partitionOf(deviceId, PARTITIONS), deviceId), encodeReading(reading), `${deviceId}:${round}`);
        }),
      );
    } finally {
      await nc.close();
    }
  }

  beforeAll(async () => {
    [nats, ch] = await Promise.all([startNats(), startClickHouse()]);
    [adminPort, webPort] = await Promise.all([freePort(), freePort()]);
    const nc = await connect({ servers: nats.url });
    await ensureJournal(nc, { stream: "READINGS", partitions: PARTITIONS, duplicateWindowMs: 120_000, maxAgeMs: 86_400_000, maxAckPending: 20_000, replicas: 1 });
    await nc.close();
    const env = pipelineEnv(
      { nats: nats.url, mqtt: "mqtt://127.0.0.1:1", clickhouse: ch.url },
      {
        SHOAL__NATS__PARTITIONS: String(PARTITIONS),
        SHOAL__CLICKHOUSE__DATABASE: "admin_grpc",
        SHOAL__NODEID: "admin-it",
        SHOAL__LOG__LEVEL: "info",
        SHOAL__RUNTIME__HOST: "workers",
        SHOAL__RUNTIME__WORKERS: "2",
        SHOAL__ADMIN__PORT: String(adminPort),
        SHOAL__GRPC__WEBPORT: String(webPort),
      },
    );
    process.once("exit", reap);
    rt = spawnRole("runtime", env, (s) => (out += s));
    await waitFor(async () => out, (o) => o.includes("runtime started") && o.includes("admin gRPC server listening") && o.includes("status HTTP server listening"), 90_000, "shoal runtime to start");
    const Client = grpc.makeGenericClientConstructor(grpcServiceDefinition(AdminService), "AdminService");
    client = new Client(`127.0.0.1:${adminPort}`, grpc.credentials.createInsecure()) as unknown as typeof client;
  });

  afterAll(async () => {
    client?.close();
    if (rt && rt.exitCode === null && rt.signalCode === null) {
      rt.kill("SIGTERM");
      await exited(rt);
    }
    process.off("exit", reap);
    releasePort(adminPort);
    releasePort(webPort);
    await Promise.all([nats?.cleanup(), ch?.cleanup()]);
  });

  it("answers GetInfo with the node id, role and build version", async () => {
    const info = await call<GetInfoResponse>("GetInfo");
    expect(info).toMatchObject({ nodeId: "admin-it", roles: ["runtime"], version: VERSION });
    expect(Number(info.startedAtMs)).toBeGreaterThan(Date.now() - 120_000);
  });

  it("GetCounters and GetRuntimeStats move when readings are processed", async () => {
    const before = await call<GetRuntimeStatsResponse>("GetRuntimeStats");
    expect(before.workers.map((w) => w.index)).toEqual([0, 1]);
    expect(devices(before)).toBe(0n);
    await publish(1);
    await publish(2);
    const counters = await waitFor(async () => (await call<GetCountersResponse>("GetCounters")).counters, (c) => c["runtime.acked"] === 2 * DEVICES, 60_000, "every reading acked");
    expect(counters["runtime.pulled"]).toBe(2 * DEVICES);
    expect(counters["runtime.deadLettered"]).toBe(0);
    const after = await waitFor(() => call<GetRuntimeStatsResponse>("GetRuntimeStats"), (s) => devices(s) === BigInt(DEVICES), 30_000, "every device actor active");
    expect(sum(after, (w) => w.turns)).toBeGreaterThanOrEqual(BigInt(2 * DEVICES));
    expect(sum(after, (w) => w.activations)).toBe(BigInt(DEVICES));
    expect(sum(after, (w) => w.deadLetters)).toBe(0n);
    // Partition p lives on worker p % 2.
    for (const w of after.workers) expect(w.partitions.every((p) => p % 2 === w.index)).toBe(true);
    expect(after.workers.every((w) => w.turnLatency !== undefined && w.turnLatency.maxUs >= w.turnLatency.p50Us)).toBe(true);
  });

  it("RestartWorker of an unknown index is INVALID_ARGUMENT; a real restart loses nothing", async () => {
    const bad = await call("RestartWorker", create(RestartWorkerRequestSchema, { index: 7 })).catch((e: grpc.ServiceError) => e);
    expect(bad).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: "worker 7 does not exist (this pool has workers 0..1)" });

    await call("RestartWorker", create(RestartWorkerRequestSchema, { index: 1 }));
    await waitFor(() => call<GetRuntimeStatsResponse>("GetRuntimeStats"), (s) => s.workerRestarts === 1n, 30_000, "worker 1 to be replaced");
    await publish(3);
    const counters = await waitFor(async () => (await call<GetCountersResponse>("GetCounters")).counters, (c) => c["runtime.acked"] === 3 * DEVICES, 60_000, "the third round acked");
    expect(counters["runtime.deadLettered"]).toBe(0);
  });

  it("reports ready on /readyz and in gRPC health once every partition is owned and caught up", async () => {
    const ready = await waitFor(() => http("/readyz"), (r) => r.status === 200, 30_000, "/readyz 200");
    expect(ready.body).toBe("ready");
    expect((await http("/healthz")).status).toBe(200);
    const Health = grpc.makeGenericClientConstructor(healthService, "Health");
    const h = new Health(`127.0.0.1:${adminPort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      check(req: { service: string }, cb: (e: grpc.ServiceError | null, r: { status: string }) => void): void;
    };
    const check = (service: string) => new Promise<string>((res, rej) => h.check({ service }, (e, r) => (e ? rej(e) : res(r.status))));
    try {
      expect(await check("")).toBe("SERVING");
      expect(await check("shoal.v1.AdminService")).toBe("SERVING");
    } finally {
      h.close();
    }
  });

  it("exports the runtime introspection and pipeline counters on /metrics", async () => {
    const { status, body } = await http("/metrics");
    expect(status).toBe(200);
    const value = (series: string) => {
      const line = body.split("\n").find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    const active = (value('shoal_runtime_active_actors{worker="0",actor_type="device"}') ?? 0) + (value('shoal_runtime_active_actors{worker="1",actor_type="device"}') ?? 0);
    expect(active).toBe(DEVICES);
    expect(value('shoal_runtime_turns_total{worker="0"}')).toBeGreaterThan(0);
    expect(value('shoal_runtime_mailbox_depth{worker="1"}')).toBe(0);
    expect(value('shoal_runtime_turn_latency_seconds{worker="0",quantile="0.99"}')).toBeGreaterThanOrEqual(0);
    expect(value("shoal_runtime_worker_restarts_total")).toBe(1);
    expect(value("shoal_runtime_acked_total")).toBe(3 * DEVICES);
    expect(body).toContain("shoal_config_applied_total");
  });

  it("lists its services by reflection", async () => {
    const require = createRequire(import.meta.url);
    const dir = join(dirname(require.resolve("@grpc/reflection/package.json")), "build/proto");
    const def = protoLoader.loadSync(join(dir, "grpc/reflection/v1/reflection.proto"), { includeDirs: [dir] });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } } };
    const c = new pkg.grpc.reflection.v1.ServerReflection(`127.0.0.1:${adminPort}`, grpc.credentials.createInsecure());
    try {
      const ask = (req: object) =>
        new Promise<Record<string, unknown>>((resolve, reject) => {
          const stream = (c as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<object, Record<string, unknown>> }).ServerReflectionInfo();
          stream.on("data", (d) => {
            resolve(d);
            stream.end();
          });
          stream.on("error", reject);
          stream.write(req);
        });
      const list = (await ask({ listServices: "" })) as { listServicesResponse: { service: Array<{ name: string }> } };
      expect(list.listServicesResponse.service.map((s) => s.name)).toEqual(["shoal.v1.AdminService"]);
      const file = (await ask({ fileContainingSymbol: "shoal.v1.AdminService" })) as { fileDescriptorResponse: { fileDescriptorProto: Buffer[] } };
      expect(Buffer.concat(file.fileDescriptorResponse.fileDescriptorProto).toString("latin1")).toContain("GetRuntimeStats");
    } finally {
      c.close();
    }
  });

  it("shoal admin prints the stats table; shoal cluster status --admin says it is not clustered", async () => {
    let stdout = "";
    let stderr = "";
    const io = { env: {}, stdout: (s: string) => void (stdout += s), stderr: (s: string) => void (stderr += s) };
    expect(await adminCli(["stats", "--admin", `127.0.0.1:${adminPort}`], io)).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^WORKER\s+PARTITIONS\s+ACTIVE\s+MAILBOX/);
    expect(lines.filter((l) => /^\s*[01]\s/.test(l))).toHaveLength(2);
    expect(stdout).toContain(`worker restarts 1`);
    stdout = "";
    expect(await adminCli(["restart-worker", "9", "--admin", `127.0.0.1:${adminPort}`], io)).toBe(1);
    expect(stderr).toContain("INVALID_ARGUMENT: worker 9 does not exist");
    stderr = "";
    expect(await clusterCli(["status", "--admin", `127.0.0.1:${adminPort}`], io)).toBe(1);
    expect(stderr).toContain("FAILED_PRECONDITION: ListMembers: not running in cluster mode");
  });

  it("stops gracefully on SIGTERM (admin and status servers closed) with exit code 0", async () => {
    client.close();
    rt!.kill("SIGTERM");
    expect(await exited(rt!)).toBe(0);
    await expect(fetch(`http://127.0.0.1:${webPort}/healthz`)).rejects.toThrow();
  });
});

describe("admin gRPC of shoal runtime in cluster mode", () => {
  let nats: ServiceHandle;
  let ch: ServiceHandle;
  let consul: ServiceHandle;
  let adminPort: number;
  let webPort: number;
  let rt: ReturnType<typeof spawnRole> | undefined;
  let out = "";
  const reap = () => rt && rt.exitCode === null && rt.signalCode === null && rt.kill("SIGKILL");

  beforeAll(async () => {
    [nats, ch, consul] = await Promise.all([startNats(), startClickHouse(), startConsul()]);
    [adminPort, webPort] = await Promise.all([freePort(), freePort()]);
    const env = pipelineEnv(
      { nats: nats.url, mqtt: "mqtt://127.0.0.1:1", clickhouse: ch.url },
      {
        SHOAL__NATS__PARTITIONS: String(PARTITIONS),
        SHOAL__CLICKHOUSE__DATABASE: "admin_grpc_cluster",
        SHOAL__NODEID: "admin-c1",
        SHOAL__LOG__LEVEL: "info",
        SHOAL__CONSUL__URL: consul.url,
        SHOAL__CONSUL__REGISTERSERVICES: "false",
        SHOAL__ADMIN__PORT: String(adminPort),
        SHOAL__GRPC__WEBPORT: String(webPort),
      },
    );
    process.once("exit", reap);
    rt = spawnRole("runtime", env, (s) => (out += s));
    await waitFor(async () => out, (o) => o.includes("runtime joined the cluster") && o.includes("admin gRPC server listening"), 90_000, "clustered shoal runtime to start");
  });

  afterAll(async () => {
    if (rt && rt.exitCode === null && rt.signalCode === null) {
      rt.kill("SIGTERM");
      await exited(rt);
    }
    process.off("exit", reap);
    releasePort(adminPort);
    releasePort(webPort);
    await Promise.all([nats?.cleanup(), ch?.cleanup(), consul?.cleanup()]);
  });

  it("shoal cluster status --admin shows the members and partition map read over gRPC; /readyz is 200 once the node owns and caught up", async () => {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${webPort}/readyz`)).status, (s) => s === 200, 60_000, "the node to own and catch up on every partition");
    let stdout = "";
    let stderr = "";
    const io = { env: {}, stdout: (s: string) => void (stdout += s), stderr: (s: string) => void (stderr += s) };
    expect(await clusterCli(["status", "--admin", `127.0.0.1:${adminPort}`], io)).toBe(0);
    expect(stderr).toBe("");
    expect(stdout).toContain(`members: 1   partitions: ${PARTITIONS}   misplaced: 0 (converged)`);
    expect(stdout).toMatch(new RegExp(`^admin-c1\\s+${PARTITIONS}\\s+${PARTITIONS}\\s+active `, "m"));
    const partitionLines = stdout.split("\n").filter((l) => /^\s+\d+\s+admin-c1\s+admin-c1\s+0\s+0$/.test(l));
    expect(partitionLines).toHaveLength(PARTITIONS);
  });

  it("leaves the cluster on SIGTERM with exit code 0", async () => {
    rt!.kill("SIGTERM");
    expect(await exited(rt!)).toBe(0);
  });
});
