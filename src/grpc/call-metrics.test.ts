import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { callMetricsInterceptor, connectCallMetrics, type CallMetrics } from "./call-metrics.js";

/** Observations as "service/method code". */
function recorder(): CallMetrics & { seen: string[] } {
  const seen: string[] = [];
  return { seen, observe: (service, method, code, seconds) => void seen.push(`${service}/${method} ${code}${seconds >= 0 ? "" : " negative"}`) };
}

const raw = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
const def = {
  Echo: { path: "/test.v1.Probe/Echo", requestStream: false, responseStream: false, ...raw },
  Fail: { path: "/test.v1.Probe/Fail", requestStream: false, responseStream: false, ...raw },
  Tail: { path: "/test.v1.Probe/Tail", requestStream: false, responseStream: true, ...raw },
} satisfies grpc.ServiceDefinition;

describe("RED metrics of gRPC calls (grpc-js server interceptor)", () => {
  let server: grpc.Server | undefined;
  afterEach(() => server?.forceShutdown());

  it("counts unary calls with their status and a server stream when it ends", async () => {
    const m = recorder();
    server = new grpc.Server({ interceptors: [callMetricsInterceptor(m)] });
    server.addService(def, {
      Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request),
      Fail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb({ code: grpc.status.NOT_FOUND, details: "no such thing" }),
      Tail: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        call.write(Buffer.from("a"));
        call.write(Buffer.from("b"));
        call.end();
      },
    });
    const port = await new Promise<number>((resolve, reject) => server!.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const Client = grpc.makeGenericClientConstructor(def, "Probe");
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Record<string, (...a: unknown[]) => unknown>;
    const unary = (name: string) => new Promise<grpc.status>((resolve) => client[name]!(Buffer.from("x"), (e: grpc.ServiceError | null) => resolve(e ? e.code : grpc.status.OK)));
    expect(await unary("Echo")).toBe(grpc.status.OK);
    expect(await unary("Fail")).toBe(grpc.status.NOT_FOUND);
    const items = await new Promise<number>((resolve, reject) => {
      let n = 0;
      const s = client.Tail!(Buffer.from("x")) as grpc.ClientReadableStream<Buffer>;
      s.on("data", () => n++).on("error", reject).on("end", () => resolve(n));
    });
    expect(items).toBe(2);
    (client as unknown as grpc.Client).close();
    // Observed in sendStatus, before the status (and so the client's "end") goes out.
    expect(m.seen.sort()).toEqual(["test.v1.Probe/Echo OK", "test.v1.Probe/Fail NOT_FOUND", "test.v1.Probe/Tail OK"]);
  });
});

describe("RED metrics of Connect / gRPC-web calls (Connect interceptor)", () => {
  const req = { service: { typeName: "shoal.v1.QueryService" }, method: { name: "Watch" } };
  type Next = Parameters<ReturnType<typeof connectCallMetrics>>[0];
  const run = (m: CallMetrics, next: (r: unknown) => Promise<unknown>) => connectCallMetrics(m)(next as unknown as Next)(req as never) as Promise<{ stream: boolean; message: AsyncIterable<unknown> }>;
  async function* two() {
    yield 1;
    yield 2;
  }

  it("counts a unary call OK, a failed one by its code, a stream when it ends or is abandoned", async () => {
    const m = recorder();
    await run(m, async () => ({ stream: false, message: {} }));
    await expect(run(m, async () => Promise.reject(new ConnectError("nope", Code.PermissionDenied)))).rejects.toThrow("nope");
    const done = await run(m, async () => ({ stream: true, message: two() }));
    expect(m.seen).toHaveLength(2); // the stream is not counted before it ends
    for await (const _ of done.message) void _;
    const abandoned = await run(m, async () => ({ stream: true, message: two() }));
    for await (const _ of abandoned.message) break;
    expect(m.seen).toEqual(["shoal.v1.QueryService/Watch OK", "shoal.v1.QueryService/Watch PERMISSION_DENIED", "shoal.v1.QueryService/Watch OK", "shoal.v1.QueryService/Watch CANCELLED"]);
  });
});
