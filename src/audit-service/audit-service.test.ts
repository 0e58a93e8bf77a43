import { Code, ConnectError, createClient, createRouterTransport, type Interceptor } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CALLER, type Caller } from "../access/index.js";
import { ShoalError } from "../base/errors.js";
import { AuditService } from "../gen/shoal/v1/audit_pb.js";
import type { AuditEvent, AuditReader } from "../ports/audit.js";
import { auditPageToken, createAuditService } from "./audit-service.js";
import { MemoryAuditLog } from "./testing.js";

/** Logic of the audit service over an in-memory reader (ClickHouse: test/integration/audit-log.test.ts). */
const T0 = Date.UTC(2026, 11, 1);

const asCaller =
  (caller: Caller): Interceptor =>
  (next) =>
  (req) => {
    req.contextValues.set(CALLER, caller);
    return next(req);
  };

function clientOf(reader: AuditReader, caller?: Caller, onInternalError?: (m: string, e: unknown) => void) {
  const impl = createAuditService({ reader, ...(onInternalError ? { onInternalError } : {}) });
  return createClient(AuditService, createRouterTransport(({ service }) => service(AuditService, impl), caller ? { router: { interceptors: [asCaller(caller)] } } : {}));
}

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("expected the call to fail");
}

const ev = (i: number, over: Partial<AuditEvent> = {}): AuditEvent => ({
  atMs: T0 + Math.floor(i / 3) * 1000, // three events per second: ties are paged by the tiebreak
  actor: i % 2 === 0 ? "alice" : "bob",
  actorRole: "admin",
  source: "ipv4:10.0.0.1:4000",
  action: i % 3 === 0 ? "shoal.v1.ConfigService/SetConfigKey" : "shoal.v1.DeviceService/SetDeviceEnabled",
  target: i % 3 === 0 ? `config/detector.threshold` : `device/d-${i}`,
  outcome: "ok",
  details: { i },
  ...over,
});

async function seeded(n: number): Promise<MemoryAuditLog> {
  const log = new MemoryAuditLog();
  for (let i = 0; i < n; i++) await log.record(ev(i));
  return log;
}

describe("AuditService.ListAuditEvents", () => {
  it("pages newest first through every event exactly once, filters, and converts each field", async () => {
    const log = await seeded(25);
    const c = clientOf(log);
    const seen: number[] = [];
    let token = "";
    let pages = 0;
    do {
      const r = await c.listAuditEvents({ pageSize: 4, pageToken: token });
      seen.push(...r.events.map((e) => (JSON.parse(e.detailsJson) as { i: number }).i));
      token = r.nextPageToken;
      pages++;
    } while (token !== "");
    expect(pages).toBe(7);
    // Newest second first; within a second, the later recorded first.
    expect(seen).toEqual([24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);

    const first = (await c.listAuditEvents({ actor: "alice", actionPrefix: "shoal.v1.Device", pageSize: 1 })).events[0]!;
    expect(first).toMatchObject({ atMs: BigInt(T0 + 7000), actor: "alice", actorRole: "admin", source: "ipv4:10.0.0.1:4000", action: "shoal.v1.DeviceService/SetDeviceEnabled", target: "device/d-22", outcome: "ok", detailsJson: '{"i":22}', id: "mem-23" });
    const config = await c.listAuditEvents({ targetPrefix: "config/", fromMs: BigInt(T0 + 2000), toMs: BigInt(T0 + 5000) });
    expect(config.events.map((e) => e.target + " " + e.atMs)).toEqual([`config/detector.threshold ${T0 + 4000}`, `config/detector.threshold ${T0 + 3000}`, `config/detector.threshold ${T0 + 2000}`]);
    expect(config.nextPageToken).toBe("");
    expect(log.queries.at(-1)).toEqual({ fromMs: T0 + 2000, toMs: T0 + 5000, actor: "", actionPrefix: "", targetPrefix: "config/", limit: 100 });
  });

  it("page_size 0 means 100, and 1000 is the most", async () => {
    const log = await seeded(1);
    const c = clientOf(log);
    await c.listAuditEvents({});
    await c.listAuditEvents({ pageSize: 1000 });
    expect(log.queries.map((q) => q.limit)).toEqual([100, 1000]);
  });

  it("refuses bad arguments with INVALID_ARGUMENT naming the field", async () => {
    const c = clientOf(await seeded(3));
    const cases: Array<[Parameters<typeof c.listAuditEvents>[0], RegExp]> = [
      [{ pageSize: -1 }, /page_size: must be between 1 and 1000/],
      [{ pageSize: 1001 }, /page_size: must be between 1 and 1000/],
      [{ fromMs: 5n }, /from_ms: must be ms since the epoch/],
      [{ toMs: 99_999_999_999_999n }, /to_ms: must be ms since the epoch/],
      [{ fromMs: BigInt(T0), toMs: BigInt(T0) }, /to_ms: must be after from_ms/],
      [{ actor: "a".repeat(257) }, /actor: longer than 256 characters/],
      [{ actionPrefix: "x".repeat(257) }, /action_prefix: longer than 256 characters/],
      [{ targetPrefix: "device/\n" }, /target_prefix: must not contain control characters/],
      [{ pageToken: "not a token!" }, /page_token: not a token this service gave/],
      [{ pageToken: Buffer.from("x1:123.4").toString("base64url") }, /page_token: not a token this service gave/],
      [{ pageToken: auditPageToken("garbage") }, /page_token: not a token this service gave/], // the reader refuses the cursor
      [{ pageToken: "A".repeat(600) }, /page_token: not a token this service gave/],
    ];
    for (const [req, message] of cases) {
      const e = await failure(c.listAuditEvents(req));
      expect([e.code, e.rawMessage], JSON.stringify(req, (_k, x: unknown) => (typeof x === "bigint" ? String(x) : x))).toEqual([Code.InvalidArgument, expect.stringMatching(message)]);
    }
    expect(await c.listAuditEvents({ actor: "a".repeat(256) })).toMatchObject({ events: [] });
  });

  it("needs the admin role when the server checks tokens", async () => {
    const log = await seeded(2);
    for (const role of ["viewer", "operator"] as const) {
      const e = await failure(clientOf(log, { name: "eve", role }).listAuditEvents({}));
      expect([e.code, e.rawMessage]).toEqual([Code.PermissionDenied, `the audit log needs the admin role (eve is ${role})`]);
    }
    expect((await clientOf(log, { name: "root", role: "admin" }).listAuditEvents({})).events).toHaveLength(2);
    expect(log.queries).toHaveLength(1); // the refused calls never reached the reader
  });

  it("a retryable storage failure is UNAVAILABLE; anything else INTERNAL, reported, without internals", async () => {
    const internal: string[] = [];
    const down: AuditReader = { list: () => Promise.reject(new ShoalError("ClickHouse query failed: connect ECONNREFUSED", { code: "storage_unavailable", retryable: true })) };
    const e1 = await failure(clientOf(down).listAuditEvents({}));
    expect([e1.code, e1.rawMessage]).toEqual([Code.Unavailable, "unavailable, retry: ClickHouse query failed: connect ECONNREFUSED"]);
    const broken: AuditReader = { list: () => Promise.reject(new Error("secret internals")) };
    const e2 = await failure(clientOf(broken, undefined, (m, e) => internal.push(`${m}: ${(e as Error).message}`)).listAuditEvents({}));
    expect([e2.code, e2.rawMessage]).toEqual([Code.Internal, "internal error (logged by the server)"]);
    expect(internal).toEqual(["ListAuditEvents: secret internals"]);
    // invalid_input from the reader without a page token is not the caller's fault: INTERNAL.
    const odd: AuditReader = { list: () => Promise.reject(new ShoalError("bad", { code: "invalid_input" })) };
    expect((await failure(clientOf(odd).listAuditEvents({}))).code).toBe(Code.Internal);
  });
});
