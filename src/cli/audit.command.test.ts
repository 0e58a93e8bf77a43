import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccessCheck } from "../access/index.js";
import { addAuditService, createAuditService } from "../audit-service/index.js";
import { MemoryAuditLog } from "../audit-service/testing.js";
import { AuditEventSchema } from "../gen/shoal/v1/audit_pb.js";
import { shutdownServer } from "../grpc/index.js";
import { formatAuditTable, run } from "./audit.command.js";

/** `shoal audit` against an AuditService on a loopback port over an in-memory log (ClickHouse: test/integration/audit-log.test.ts). */
const T0 = Date.UTC(2026, 11, 1, 10);
const NOW = T0 + 3_600_000;

function capture(env: Record<string, string> = {}) {
  const o = { out: "", err: "" };
  return { o, io: { env, stdout: (s: string) => void (o.out += s), stderr: (s: string) => void (o.err += s) } };
}

let server: grpc.Server;
let address: string;
const log = new MemoryAuditLog();

beforeAll(async () => {
  for (let i = 0; i < 30; i++) {
    await log.record({
      atMs: T0 + i * 60_000,
      actor: i % 3 === 0 ? "cli:root" : "alice",
      actorRole: i % 3 === 0 ? "" : "admin",
      source: i % 3 === 0 ? "" : "ipv4:10.0.0.7:5123",
      action: i % 3 === 0 ? "cli/config set" : "shoal.v1.DeviceService/SetDeviceEnabled",
      target: i % 3 === 0 ? "config/detector.threshold" : `device/d-${i}`,
      outcome: i === 29 ? "permission_denied" : "ok",
      details: { i },
    });
  }
  server = new grpc.Server();
  addAuditService(server, createAuditService({ reader: log }), { timeoutMs: 5_000, maxConcurrentPerCaller: 8, maxStreamsPerCaller: 2, access: createAccessCheck([{ name: "root", role: "admin", token: "adm1n-t0ken" }, { name: "v", role: "viewer", token: "v1ewer" }]) });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  address = `127.0.0.1:${port}`;
});

afterAll(async () => {
  if (server) await shutdownServer(server, 2_000);
});

const admin = { SHOAL_TOKEN: "adm1n-t0ken" };
const shoal = async (argv: string[], env: Record<string, string> = admin) => {
  const c = capture(env);
  const code = await run([...argv, "--query", address], c.io, () => NOW);
  return { code, ...c.o };
};

describe("shoal audit", () => {
  it("prints a table newest first, filtered by actor, action and target", async () => {
    const r = await shoal(["--actor", "alice", "--action", "shoal.v1.Device", "--target", "device/d-2", "--since", "1h"]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    const lines = r.out.trimEnd().split("\n");
    expect(lines[0]!.split(/\s+/)).toEqual(["TIME", "ACTOR", "ROLE", "SOURCE", "ACTION", "TARGET", "OUTCOME"]);
    expect(lines.slice(1).map((l) => l.split(/\s+/))).toEqual(
      [29, 28, 26, 25, 23, 22, 20, 2].map((i) => [new Date(T0 + i * 60_000).toISOString(), "alice", "admin", "ipv4:10.0.0.7:5123", "shoal.v1.DeviceService/SetDeviceEnabled", `device/d-${i}`, i === 29 ? "permission_denied" : "ok"]),
    );
  });

  it("--limit pages through the service; --from/--to bound the time; --json prints the events", async () => {
    const r = await shoal(["--limit", "5", "--json", "--from", new Date(T0 + 10 * 60_000).toISOString(), "--to", new Date(T0 + 20 * 60_000).toISOString()]);
    expect(r.code).toBe(0);
    const got = JSON.parse(r.out) as Array<{ atMs: number; actor: string; target: string; details: { i: number } }>;
    expect(got.map((e) => e.details.i)).toEqual([19, 18, 17, 16, 15]);
    expect(got[1]).toEqual({ id: "mem-19", at: new Date(T0 + 18 * 60_000).toISOString(), atMs: T0 + 18 * 60_000, actor: "cli:root", actorRole: "", source: "", action: "cli/config set", target: "config/detector.threshold", outcome: "ok", details: { i: 18 } });
    const all = await shoal(["--limit", "1500", "--json"]);
    expect((JSON.parse(all.out) as unknown[]).length).toBe(30);
    expect(log.queries.at(-1)).toMatchObject({ limit: 1000 });
    const since = await shoal(["--since", "10m", "--json"]); // NOW − 10 min = T0 + 50 min: nothing that recent
    expect(JSON.parse(since.out)).toEqual([]);
    expect(log.queries.at(-1)).toMatchObject({ fromMs: NOW - 600_000 });
    expect((await shoal(["--since", "10m"])).out).toBe("no audit events\n");
  });

  it("needs an admin's token: none or a viewer's fails with exit code 1 and the server's reason", async () => {
    const none = await shoal([], {});
    expect([none.code, none.out]).toEqual([1, ""]);
    expect(none.err).toMatch(/^shoal audit \(127\.0\.0\.1:\d+\): \[unauthenticated\] /);
    const viewer = await shoal([], { SHOAL_TOKEN: "v1ewer" });
    expect(viewer.code).toBe(1);
    expect(viewer.err).toMatch(/\[permission_denied\]/);
  });

  it("rejects bad usage with exit code 2 and a precise message", async () => {
    const cases: Array<[string[], string]> = [
      [["--since", "1h", "--from", "2026-01-01T00:00:00Z"], "--since cannot be combined with --from/--to"],
      [["--since", "soon"], '--since must be a duration (e.g. 30m, 1h, 7d), got "soon"'],
      [["--from", "yesterday"], '--from must be an ISO 8601 time (e.g. 2026-12-01T10:00:00Z), got "yesterday"'],
      [["--from", "2026-01-02T00:00:00Z", "--to", "2026-01-01T00:00:00Z"], "--to must be after --from"],
      [["--limit", "0"], '--limit must be 1..100000, got "0"'],
      [["extra"], 'unexpected argument "extra"'],
    ];
    for (const [argv, message] of cases) {
      const r = await shoal(argv);
      expect([r.code, r.err.split("\n")[0]], argv.join(" ")).toEqual([2, message]);
    }
    const help = capture();
    expect(await run(["--help"], help.io)).toBe(0);
    expect(help.o.out).toMatch(/^usage: shoal audit /);
  });

  it("a server that does not answer fails with exit code 1 naming the address", async () => {
    const c = capture(admin);
    expect(await run(["--query", "127.0.0.1:1"], c.io)).toBe(1);
    expect(c.o.err).toMatch(/^shoal audit \(127\.0\.0\.1:1\): \[unavailable\] /);
  });
});

describe("formatAuditTable", () => {
  it("aligns the columns, shows '-' for empty ones and escapes control characters", () => {
    const e = (actor: string, target: string) => create(AuditEventSchema, { atMs: BigInt(T0), actor, actorRole: "", source: "", action: "cli/config set", target, outcome: "ok" });
    expect(formatAuditTable([e("cli:root", "config/x"), e("a\nb", "")])).toBe(
      [
        "TIME                      ACTOR     ROLE  SOURCE  ACTION          TARGET    OUTCOME",
        "2026-12-01T10:00:00.000Z  cli:root  -     -       cli/config set  config/x  ok",
        "2026-12-01T10:00:00.000Z  a\\x0ab    -     -       cli/config set  -         ok",
        "",
      ].join("\n"),
    );
  });
});
