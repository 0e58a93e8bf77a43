import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { service as healthService } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, createGatewayClient, gatewayConfigSchema, startGatewayServer, GATEWAY_SERVICE_NAME } from "../../src/gateway/index.js";
import type { GatewayClient, GatewayServer, GatewayService } from "../../src/gateway/index.js";
import { spikeWindow } from "./gateway-support.js";

/** `shoal gateway`'s gRPC surface with plain @grpc/grpc-js clients (any standard client works). */
describe("gateway gRPC server", () => {
  let gw: GatewayService;
  let server: GatewayServer;
  let client: GatewayClient;

  beforeAll(async () => {
    gw = createGateway({ config: gatewayConfigSchema.parse({}) });
    server = await startGatewayServer(gw, { port: 0 });
    client = createGatewayClient({ address: server.address });
    await client.waitForReady();
  });
  afterAll(async () => {
    client.close();
    await server.close();
    await gw.close();
  });

  it("serves Score, ScoreBatch (via client micro-batching), Explain, Embed and Summarize", async () => {
    const s = await client.score({ window: spikeWindow() });
    expect(s.score).toBeGreaterThan(0.9);
    expect(s.model).toMatchObject({ provider: "local", promptVersion: "score@v1" });
    const many = await Promise.all(Array.from({ length: 1000 }, (_, i) => client.score({ window: { deviceId: `d${i}`, metric: "m", values: [1, 2, 1, 2, 1, i % 2 ? 2 : 50] } })));
    expect(many.filter((r) => r.score > 0.9).length).toBe(500);
    const e = await client.explain({ window: spikeWindow(), score: 0.97, context: { site: "north" } });
    expect(e.summary).toContain("temp on dev-1 rose to 45");
    expect(e.model).toMatchObject({ provider: "local", promptVersion: "explain@v1" });
    const v = await client.embed({ text: "pump overheating" });
    expect(v.vector.length).toBe(64);
    const vw = await client.embed({ window: spikeWindow() });
    expect(vw.vector.length).toBe(64);
    const sum = await client.summarize({ title: "daily", items: ["a hot", "a hot", "b cold"] });
    expect(sum.summary).toContain("3 item(s), 2 distinct");
  });

  it("invalid requests fail with INVALID_ARGUMENT naming the field; ScoreBatch fails only the bad item", async () => {
    await expect(client.explain({ window: { deviceId: "d", metric: "m", values: [] }, score: 0.5 })).rejects.toMatchObject({ code: "invalid_request", message: "window.values must not be empty" });
    const r = await client.scoreBatch([{ window: spikeWindow() }, { window: { deviceId: "d", metric: "m", values: [1, Number.NaN] } }]);
    expect((r[0] as { score: number }).score).toBeGreaterThan(0.9);
    expect((r[1] as Error).message).toBe("window.values[1] must be a finite number, got NaN");
  });

  it("has standard health checking", async () => {
    const Health = grpc.makeGenericClientConstructor(healthService, "Health");
    const h = new Health(server.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      check(req: { service: string }, cb: (e: grpc.ServiceError | null, r: { status: string }) => void): void;
    };
    const check = (service: string) => new Promise<string>((res, rej) => h.check({ service }, (e, r) => (e ? rej(e) : res(r.status))));
    expect(await check("")).toBe("SERVING");
    expect(await check(GATEWAY_SERVICE_NAME)).toBe("SERVING");
    server.setServing(false);
    expect(await check(GATEWAY_SERVICE_NAME)).toBe("NOT_SERVING");
    server.setServing(true);
    h.close();
  });

  it("has server reflection (lists and describes the service)", async () => {
    const require = createRequire(import.meta.url);
    const dir = join(dirname(require.resolve("@grpc/reflection/package.json")), "build/proto");
    const def = protoLoader.loadSync(join(dir, "grpc/reflection/v1/reflection.proto"), { includeDirs: [dir] });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } } };
    const c = new pkg.grpc.reflection.v1.ServerReflection(server.address, grpc.credentials.createInsecure());
    const ask = (req: object) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const call = (c as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<object, Record<string, unknown>> }).ServerReflectionInfo();
        call.on("data", (d) => {
          resolve(d);
          call.end();
        });
        call.on("error", reject);
        call.write(req);
      });
    const list = (await ask({ listServices: "" })) as { listServicesResponse: { service: Array<{ name: string }> } };
    expect(list.listServicesResponse.service.map((s) => s.name)).toContain("shoal.v1.ModelGatewayService");
    const file = (await ask({ fileContainingSymbol: "shoal.v1.ModelGatewayService" })) as { fileDescriptorResponse: { fileDescriptorProto: Buffer[] } };
    expect(file.fileDescriptorResponse.fileDescriptorProto.length).toBeGreaterThan(0);
    expect(Buffer.concat(file.fileDescriptorResponse.fileDescriptorProto).toString("latin1")).toContain("ScoreBatch");
    c.close();
  });
});
