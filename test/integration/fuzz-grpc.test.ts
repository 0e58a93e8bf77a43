import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fuzzService } from "../fuzz/grpc/run.js";
import { startFuzzServers, type FuzzServers } from "../fuzz/grpc/services.js";

/**
 * Malformed requests at every Shoal service (test/fuzz/grpc.fuzz.ts runs 10^5 per service; here
 * ~300, so CI keeps the property honest): random and truncated protobuf, wrong wire types, unknown
 * fields, deep nesting, oversized messages, missing and garbage bearer tokens, at the real servers
 * with the real implementations, over gRPC and over the console's HTTP port (Connect and gRPC-web).
 * Every call ends with a status that says why (never INTERNAL), none hangs, no service reports an unexpected error, and every server answers a health check afterwards.
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

  it("serves all eight services: seven over gRPC, seven over the console's HTTP port (ConfigService only there, the model gateway never)", () => {
    const over = (http: boolean) => servers.targets.filter((t) => (t.httpUrl !== undefined) === http).map((t) => t.service.typeName).sort();
    expect(over(false)).toEqual(["shoal.v1.AdminService", "shoal.v1.AlertService", "shoal.v1.AuditService", "shoal.v1.DeviceCommandService", "shoal.v1.DeviceService", "shoal.v1.ModelGatewayService", "shoal.v1.QueryService"]);
    expect(over(true)).toEqual(["shoal.v1.AdminService", "shoal.v1.AlertService", "shoal.v1.AuditService", "shoal.v1.ConfigService", "shoal.v1.DeviceCommandService", "shoal.v1.DeviceService", "shoal.v1.QueryService"]);
  });

  it("300 calls per service: a status with a message for each, no hang, healthy after", async () => {
    const report: string[] = [];
    for (const [i, t] of servers.targets.entries()) {
      const s = await fuzzService(t, servers, { n: 300, seed: 1000 + i, concurrency: 16, healthEvery: 100 });
      const where = t.grpcAddress !== undefined ? "gRPC" : "HTTP";
      if (s.hangs > 0 || s.noReason > 0 || s.healthOk !== s.healthRuns || s.internalErrors > 0) report.push(`${s.service} (${where}): ${JSON.stringify({ hangs: s.hangs, noReason: s.noReason, health: `${s.healthOk}/${s.healthRuns}`, internal: s.internalErrors })} ${s.examples.join(" | ")}`);
      // Answered: every call sent has a status; refusals name the token problem, checks name the field.
      expect(s.calls + s.clientRefused).toBe(300);
      expect(Object.keys(s.byCode).length).toBeGreaterThan(1);
      // A request that cannot be read is the caller's fault: INVALID_ARGUMENT, never INTERNAL — on the
      // gRPC ports (grpc-js's answer to a throwing deserializer would be INTERNAL) and on the HTTP port
      // over Connect and gRPC-web (connect-node's answer "parse binary: …" would be INTERNAL).
      expect({ service: s.service, where, internal: s.byCode.INTERNAL ?? 0 }).toEqual({ service: s.service, where, internal: 0 });
      if (t.httpUrl !== undefined) expect({ service: s.service, invalid: (s.byCode.INVALID_ARGUMENT ?? 0) > 0 }).toEqual({ service: s.service, invalid: true });
      // The fuzz reaches past the token check and the parsing into every service's own code.
      expect(Object.values(s.byMethod).reduce((n, m) => n + m.reached, 0)).toBeGreaterThan(0);
    }
    expect(report).toEqual([]);
  });
});
