import { create, toBinary } from "@bufbuild/protobuf";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { describe, expect, it } from "vitest";
import { GetInfoRequestSchema } from "../../gen/shoal/v1/admin_pb.js";
import { ListDevicesRequestSchema, WatchFleetRequestSchema } from "../../gen/shoal/v1/query_pb.js";
import { EarlyCalls, FIRST_DEVICE_PAGE_SIZE, FLEET_TOP, earlyRequestsFor, getInfoRequest, listDevicesRequest, watchFleetRequest } from "./early-calls.js";

/** The body connect-web sends for `message` (gRPC-web: one enveloped frame). */
const asConnectSends = (bytes: Uint8Array) => encodeEnvelope(0, bytes);

/** A network fake: records requests; each answers when the test resolves or fails it. */
function fakeNet() {
  const calls: { url: string; init: RequestInit | undefined; resolve: (r: Response) => void; reject: (e: unknown) => void }[] = [];
  const net = ((input: RequestInfo | URL, init?: RequestInit) =>
    new Promise<Response>((resolve, reject) => {
      calls.push({ url: String(input), init, resolve, reject });
    })) as typeof globalThis.fetch;
  return { net, calls };
}

function manualTimers() {
  const due: (() => void)[] = [];
  return { setTimer: (fn: () => void) => (due.push(fn), () => due.splice(due.indexOf(fn) >>> 0, 1)), fire: () => due.splice(0).forEach((f) => f()) };
}

/** The init connect-web's transport passes to fetch for a request body and token. */
const appInit = (body: Uint8Array, token = "", signal?: AbortSignal): RequestInit => {
  const headers = new Headers({ "content-type": "application/grpc-web+proto", "x-grpc-web": "1" });
  if (token !== "") headers.set("authorization", `Bearer ${token}`);
  return { method: "POST", headers, body: body as Uint8Array<ArrayBuffer>, redirect: "error", ...(signal ? { signal } : {}) };
};

describe("early requests", () => {
  it("are the bytes protobuf-es and connect-web send for the same requests", () => {
    expect(getInfoRequest().body).toEqual(asConnectSends(toBinary(GetInfoRequestSchema, create(GetInfoRequestSchema, {}))));
    expect(watchFleetRequest(10).body).toEqual(asConnectSends(toBinary(WatchFleetRequestSchema, create(WatchFleetRequestSchema, { top: 10 }))));
    for (const [prefix, size] of [["", 200], ["dev-1", 200], ["dév-ü-\u{1F600}", 500], ["x".repeat(300), 1000]] as const) {
      expect(listDevicesRequest(prefix, size).body, prefix).toEqual(asConnectSends(toBinary(ListDevicesRequestSchema, create(ListDevicesRequestSchema, { idPrefix: prefix, pageSize: size }))));
    }
  });

  it("are GetInfo on every page, plus WatchFleet and the first device page (with the prefix) on the fleet page", () => {
    expect(earlyRequestsFor("#/cluster").map((r) => r.path)).toEqual(["/shoal.v1.AdminService/GetInfo"]);
    expect(earlyRequestsFor("").map((r) => r.path)).toEqual(["/shoal.v1.AdminService/GetInfo", "/shoal.v1.QueryService/WatchFleet", "/shoal.v1.QueryService/ListDevices"]);
    const list = earlyRequestsFor("#/fleet?prefix=dev-7")[2]!;
    expect(list.body).toEqual(listDevicesRequest("dev-7", FIRST_DEVICE_PAGE_SIZE).body);
    expect(earlyRequestsFor("#/fleet")[1]!.body).toEqual(watchFleetRequest(FLEET_TOP).body);
  });
});

describe("EarlyCalls", () => {
  it("sends a request as the app's transport would, with the token and deadline", () => {
    const { net, calls } = fakeNet();
    const early = new EarlyCalls(net, 1000, manualTimers().setTimer);
    early.send("http://h", getInfoRequest(), "tok");
    expect(calls).toHaveLength(1);
    expect(calls[0]!.url).toBe("http://h/shoal.v1.AdminService/GetInfo");
    const h = calls[0]!.init!.headers as Record<string, string>;
    expect(h["authorization"]).toBe("Bearer tok");
    expect(h["content-type"]).toBe("application/grpc-web+proto");
    expect(h["grpc-timeout"]).toBe("10000m");
    early.send("http://h", getInfoRequest(), "tok");
    expect(calls).toHaveLength(1);
  });

  it("hands the answer to the app's identical request once; others go to the network", async () => {
    const { net, calls } = fakeNet();
    const early = new EarlyCalls(net, 1000, manualTimers().setTimer);
    const r = watchFleetRequest(10);
    early.send("http://h", r, "");
    const answer = new Response("early");
    calls[0]!.resolve(answer);
    expect(await early.fetch("http://h" + r.path, appInit(r.body))).toBe(answer);
    expect(calls).toHaveLength(1);
    void early.fetch("http://h" + r.path, appInit(r.body));
    expect(calls).toHaveLength(2);
    // Another token, another body, another URL: not the same request.
    early.send("http://h", r, "a");
    void early.fetch("http://h" + r.path, appInit(r.body, "b"));
    void early.fetch("http://h" + r.path, appInit(watchFleetRequest(11).body, "a"));
    void early.fetch("http://h/shoal.v1.QueryService/Other", appInit(r.body, "a"));
    expect(calls).toHaveLength(6);
    expect(early.pending).toEqual(["http://h/shoal.v1.QueryService/WatchFleet"]);
  });

  it("asks the network afresh when the early request failed", async () => {
    const { net, calls } = fakeNet();
    const early = new EarlyCalls(net, 1000, manualTimers().setTimer);
    const r = getInfoRequest();
    early.send("http://h", r, "");
    calls[0]!.reject(new TypeError("Failed to fetch"));
    const got = early.fetch("http://h" + r.path, appInit(r.body));
    await new Promise((res) => setTimeout(res, 0));
    expect(calls).toHaveLength(2);
    const fresh = new Response("fresh");
    calls[1]!.resolve(fresh);
    expect(await got).toBe(fresh);
  });

  it("the app's signal cancels the early request it took", () => {
    const { net, calls } = fakeNet();
    const early = new EarlyCalls(net, 1000, manualTimers().setTimer);
    const r = watchFleetRequest(10);
    early.send("http://h", r, "");
    const ac = new AbortController();
    void early.fetch("http://h" + r.path, appInit(r.body, "", ac.signal)).catch(() => {});
    const earlySignal = calls[0]!.init!.signal!;
    expect(earlySignal.aborted).toBe(false);
    ac.abort();
    expect(earlySignal.aborted).toBe(true);
  });

  it("cancels what nobody took within maxAgeMs (and clear() everything)", () => {
    const { net, calls } = fakeNet();
    const t = manualTimers();
    const early = new EarlyCalls(net, 1000, t.setTimer);
    early.send("http://h", watchFleetRequest(10), "");
    t.fire();
    expect(calls[0]!.init!.signal!.aborted).toBe(true);
    expect(early.pending).toEqual([]);
    early.send("http://h", getInfoRequest(), "");
    early.clear();
    expect(calls[1]!.init!.signal!.aborted).toBe(true);
    expect(early.pending).toEqual([]);
  });
});
