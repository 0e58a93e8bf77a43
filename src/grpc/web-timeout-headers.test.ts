import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { QueryService, ListDevicesRequestSchema, ListDevicesResponseSchema } from "../gen/shoal/v1/query_pb.js";
import { sleep } from "../base/clock.js";
import { startWebServer, type WebServer, type WebService } from "./web-server.js";
import { dropOverlongDeadlines } from "./web-timeout-headers.js";

describe("dropOverlongDeadlines", () => {
  it("drops a grpc-timeout or connect-timeout-ms longer than a Node timer can wait, keeps the rest", () => {
    const h = (x: Record<string, string>) => {
      const headers = { ...x };
      dropOverlongDeadlines(headers);
      return headers;
    };
    expect(h({ "grpc-timeout": "99999999H" })).toEqual({});
    expect(h({ "grpc-timeout": "596H" })).toEqual({ "grpc-timeout": "596H" }); // 2,145,600,000 ms: a timer takes it
    expect(h({ "grpc-timeout": "597H" })).toEqual({});
    expect(h({ "grpc-timeout": "99999999m" })).toEqual({ "grpc-timeout": "99999999m" });
    expect(h({ "grpc-timeout": "99999999n" })).toEqual({ "grpc-timeout": "99999999n" });
    expect(h({ "grpc-timeout": "xyzH" })).toEqual({ "grpc-timeout": "xyzH" }); // malformed: connect refuses it
    expect(h({ "connect-timeout-ms": "9999999999" })).toEqual({});
    expect(h({ "connect-timeout-ms": "2147483647" })).toEqual({ "connect-timeout-ms": "2147483647" });
  });
});

/** A QueryService whose ListDevices answers after 20 ms, or DEADLINE_EXCEEDED when its deadline passed by then. */
const impl = {
  listDevices: async (_req: unknown, ctx: HandlerContext) => {
    await sleep(20);
    if (ctx.signal.aborted) throw new ConnectError("deadline passed", Code.DeadlineExceeded);
    return create(ListDevicesResponseSchema, { devices: [] });
  },
} as unknown as WebService["impl"];

describe("web server: a deadline of years", () => {
  let web: WebServer;
  beforeAll(async () => {
    web = await startWebServer([{ service: QueryService, impl }], { host: "127.0.0.1", port: 0, policy: { timeoutMs: 5000, maxConcurrentPerCaller: 4, maxStreamsPerCaller: 1 } });
  });
  afterAll(() => web.close());

  /** A gRPC-web call with a raw grpc-timeout header (no client library would send such a value). */
  async function grpcWebStatus(timeout: string): Promise<string | null> {
    const msg = toBinary(ListDevicesRequestSchema, create(ListDevicesRequestSchema, {}));
    const body = new Uint8Array(5 + msg.length);
    new DataView(body.buffer).setUint32(1, msg.length);
    body.set(msg, 5);
    const res = await fetch(`${web.url}/shoal.v1.QueryService/ListDevices`, { method: "POST", headers: { "content-type": "application/grpc-web+proto", "grpc-timeout": timeout }, body });
    const bytes = new Uint8Array(await res.arrayBuffer());
    // The trailer frame (flag 0x80) carries grpc-status.
    const text = new TextDecoder().decode(bytes);
    return res.headers.get("grpc-status") ?? /grpc-status:\s*(\d+)/.exec(text)?.[1] ?? null;
  }

  it("is served as a call without a client deadline (the port's limit applies), not as DEADLINE_EXCEEDED after 1 ms", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    try {
      expect(await grpcWebStatus("99999999H")).toBe("0");
      expect(await grpcWebStatus("1m")).toBe("4"); // a real 1 ms deadline still ends the call
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.filter((w) => w === "TimeoutOverflowWarning")).toEqual([]);
  });
});
