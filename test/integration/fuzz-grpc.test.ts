import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fuzzService } from "../fuzz/grpc/run.js";
import { startFuzzServers, type FuzzServers } from "../fuzz/grpc/services.js";

/**
 * Malformed requests at every Shoal service (test/fuzz/grpc.fuzz.ts runs 10^5 per service; here
 * ~300, so CI keeps the property honest): random and truncated protobuf, wrong wire types, unknown
 * fields, deep nesting, oversized messages, missing and garbage bearer tokens, at the real servers
 * with the real implementations. Every call ends with a status that says why (on gRPC ports never
 * INTERNAL), none hangs, no service reports an unexpected error, and every server answers a health check afterwards.
 * Requests include strings of 70,000 characters (the audit's redaction was quadratic in them).
 * Each call's request comes from a fixed seed and its index: the same requests on every run.
 */
describe("gRPC fuzzing: every malformed request is answered with a reason", () => {
  let servers: FuzzServers;
  beforeAll(async () => {
    servers = await startFuzzServers();
  });
  afterAll(async () => {
    await servers?.close();
  });

  it("serves all eight services (seven over gRPC, ConfigService over the console's HTTP port)", () => {
    expect(servers.targets.map((t) => t.service.typeName).sort()).toEqual(
      ["shoal.v1.AdminService", "shoal.v1.AlertService", "shoal.v1.AuditService", "shoal.v1.ConfigService", "shoal.v1.DeviceCommandService", "shoal.v1.DeviceService", "shoal.v1.ModelGatewayService", "shoal.v1.QueryService"].sort(),
    );
  });

  it("300 calls per service: a status with a message for each, no hang, healthy after", async () => {
    const report: string[] = [];
    for (const [i, t] of servers.targets.entries()) {
      const s = await fuzzService(t, servers, { n: 300, seed: 1000 + i, concurrency: 16, healthEvery: 100 });
      if (s.hangs > 0 || s.noReason > 0 || s.healthOk !== s.healthRuns || s.internalErrors > 0) report.push(`${s.service}: ${JSON.stringify({ hangs: s.hangs, noReason: s.noReason, health: `${s.healthOk}/${s.healthRuns}`, internal: s.internalErrors })} ${s.examples.join(" | ")}`);
      // Answered: every call sent has a status; refusals name the token problem, checks name the field.
      expect(s.calls + s.clientRefused).toBe(300);
      expect(Object.keys(s.byCode).length).toBeGreaterThan(1);
      // On the gRPC ports a request that cannot be read is the caller's fault: INVALID_ARGUMENT, never
      // INTERNAL (grpc-js's answer to a throwing deserializer). connect-node (ConfigService on the HTTP
      // port) answers "parse binary: …" with INTERNAL itself, before any interceptor runs.
      if (t.grpcAddress !== undefined) expect({ service: s.service, internal: s.byCode.INTERNAL ?? 0 }).toEqual({ service: s.service, internal: 0 });
      // The fuzz reaches past the token check and the parsing into every service's own code.
      expect(Object.values(s.byMethod).reduce((n, m) => n + m.reached, 0)).toBeGreaterThan(0);
    }
    expect(report).toEqual([]);
  });
});
