import { userInfo } from "node:os";
import * as grpc from "@grpc/grpc-js";
import type { ClickHouseClient } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyRetention, createClickHouseClient, migrate, RETENTION_TIME_COLUMNS, sqlRunner } from "../../src/adapters/clickhouse/index.js";
import { createClickHouseAuditLog, type AuditRow, type ClickHouseAuditLog } from "../../src/adapters/clickhouse/audit-log.js";
import { addAuditService, createAuditService } from "../../src/audit-service/index.js";
import { run as audit } from "../../src/cli/audit.command.js";
import { run as config } from "../../src/cli/config.command.js";
import { shutdownServer } from "../../src/grpc/index.js";
import type { AuditEvent, AuditQuery } from "../../src/ports/audit.js";
import type { Log } from "../../src/ports/log.js";
import { startClickHouse, startConsul, type ServiceHandle } from "../harness/index.js";
import { chQuery } from "../support/pipeline.js";

/**
 * The audit log on a real ClickHouse 18.16: 250 events written through the batching writer, read
 * back with every filter and through keyset pages (exact sets, newest first, no duplicate or gap),
 * a retried insert not duplicating anything, retention dropping an old partition; `shoal audit`
 * against an AuditService served on a real port; `shoal config set` recording itself (real Consul).
 */
const T0 = Date.UTC(2026, 10, 15, 8); // November 2026
const NOW = Date.UTC(2026, 11, 4); // the retention run's "now"
const DAY = 86_400_000;
const database = "audit_test";
const ACTORS = ["alice", "bob", "carol", "cli:root"];
const ACTIONS = ["shoal.v1.DeviceService/SetDeviceEnabled", "shoal.v1.DeviceService/DeleteDevice", "shoal.v1.ConfigService/SetConfigKey", "shoal.v1.AlertService/AcknowledgeAlert", "cli/config set"];

let ch: ServiceHandle;
let consul: ServiceHandle;
let client: ClickHouseClient;
let log: ClickHouseAuditLog;
const warnings: string[] = [];

const opts = (db = database) => ({ url: ch.url, database: db, username: "default", password: "" });

function recorder(): Log {
  const quiet = () => {};
  return { debug: quiet, info: quiet, warn: (f: object | string, m?: string) => void warnings.push(`${m ?? ""} ${JSON.stringify(f)}`), error: (f: object | string, m?: string) => void warnings.push(`${m ?? ""} ${JSON.stringify(f)}`) };
}

/** Event i: five events share each millisecond (the tiebreak decides their order), actors, actions and targets cycle. */
const eventAt = (i: number): AuditEvent => ({
  atMs: T0 + Math.floor(i / 5) * 60_000 + (i % 2), // two distinct ms per minute, 2-3 events each
  actor: ACTORS[i % 4]!,
  actorRole: i % 4 === 3 ? "" : "admin",
  source: i % 4 === 3 ? "local" : `ipv4:10.0.0.${i % 7}:5${i}`,
  action: ACTIONS[i % 5]!,
  target: i % 5 <= 1 ? `device/d-${i % 13}` : i % 5 === 3 ? `alert/d-${i % 13}/temp/1` : "config/detector.threshold",
  outcome: i % 17 === 0 ? "permission_denied" : "ok",
  details: { i, note: i === 7 ? "it's \"quoted\" \\ and ünïcode 🙂" : "" },
});
const EVENTS = Array.from({ length: 250 }, (_, i) => eventAt(i));
const idOf = (e: AuditEvent) => (e.details as { i: number }).i;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Every page of a query, in order. */
async function allPages(q: Omit<AuditQuery, "after">): Promise<{ events: AuditEvent[]; pages: number }> {
  const events: AuditEvent[] = [];
  let after: string | undefined;
  let pages = 0;
  do {
    const r = await log.list({ ...q, ...(after !== undefined ? { after } : {}) });
    expect(r.events.length).toBeLessThanOrEqual(q.limit);
    events.push(...r.events);
    after = r.next;
    pages++;
    expect(pages).toBeLessThan(300);
  } while (after !== undefined);
  return { events, pages };
}

beforeAll(async () => {
  [ch, consul] = await Promise.all([startClickHouse(), startConsul()]);
  await migrate(opts());
  client = createClickHouseClient(opts());
  log = createClickHouseAuditLog(opts(), { log: recorder(), flushIntervalMs: 50, maxBatch: 100 });
}, 120_000);

afterAll(async () => {
  await log?.close();
  await client?.close();
  await Promise.all([ch?.cleanup(), consul?.cleanup()]);
});

describe("audit log on ClickHouse", () => {
  it("writes 250 events in batches; a batch inserted again does not duplicate anything", async () => {
    for (const e of EVENTS) await log.record(e);
    await log.flush();
    expect(log.stats).toEqual({ recorded: 250, written: 250, lost: 0, failures: 0, queued: 0 });
    const rows = await chQuery<AuditRow>(ch.url, database, "SELECT event_id, at_ms, actor, actor_role, source, action, target, outcome, details FROM audit_log");
    expect(rows).toHaveLength(250);
    // An insert retried after an ambiguous failure: the same rows (same event_id) once more.
    await client.insert({ table: "audit_log", values: rows.slice(0, 120).map((r) => ({ ...r, at_ms: Number(r.at_ms) })), format: "JSONEachRow" });
    expect((await chQuery<{ n: string }>(ch.url, database, "SELECT count() AS n FROM audit_log"))[0]!.n).toBe("370");
    const all = await allPages({ limit: 1000 });
    expect(all.events).toHaveLength(250);
    expect(all.events.map(idOf).sort((a, b) => a - b)).toEqual(EVENTS.map(idOf));
    expect(warnings).toEqual([]);
  });

  it("lists newest first with each filter, the same through pages of any size as in one page", async () => {
    const cases: Array<[Omit<AuditQuery, "after" | "limit">, (e: AuditEvent) => boolean]> = [
      [{}, () => true],
      [{ actor: "bob" }, (e) => e.actor === "bob"],
      [{ actor: "cli:root" }, (e) => e.actor === "cli:root"],
      [{ actionPrefix: "shoal.v1.DeviceService/" }, (e) => e.action.startsWith("shoal.v1.DeviceService/")],
      [{ actionPrefix: "cli/" }, (e) => e.action.startsWith("cli/")],
      [{ targetPrefix: "device/d-1" }, (e) => e.target.startsWith("device/d-1")],
      [{ targetPrefix: "alert/" }, (e) => e.target.startsWith("alert/")],
      [{ fromMs: T0 + 10 * 60_000, toMs: T0 + 20 * 60_000 + 1 }, (e) => e.atMs >= T0 + 10 * 60_000 && e.atMs < T0 + 20 * 60_000 + 1],
      [{ actor: "alice", actionPrefix: "shoal.v1.", targetPrefix: "device/", fromMs: T0 + 5 * 60_000 }, (e) => e.actor === "alice" && e.action.startsWith("shoal.v1.") && e.target.startsWith("device/") && e.atMs >= T0 + 5 * 60_000],
      [{ actor: "nobody" }, () => false],
      [{ targetPrefix: "it's" }, () => false],
    ];
    for (const [filter, keep] of cases) {
      const what = JSON.stringify(filter);
      const expected = EVENTS.filter(keep);
      const one = await log.list({ ...filter, limit: 1000 });
      expect(one.next, what).toBeUndefined();
      expect(one.events.map(idOf).sort((a, b) => a - b), what).toEqual(expected.map(idOf));
      for (let i = 1; i < one.events.length; i++) expect(one.events[i - 1]!.atMs, what).toBeGreaterThanOrEqual(one.events[i]!.atMs);
      for (const size of [1, 7, 100]) {
        if (size === 1 && expected.length > 60) continue;
        const paged = await allPages({ ...filter, limit: size });
        expect(paged.events.map(idOf), `${what} pages of ${size}`).toEqual(one.events.map(idOf)); // same order: no duplicate, no gap
        expect(paged.pages, `${what} pages of ${size}`).toBe(Math.max(1, Math.ceil(expected.length / size))); // the last page says it is the last: no empty page after it
      }
    }
    // Every field back as written (quotes, backslash and non-ASCII included).
    const seven = (await log.list({ fromMs: EVENTS[7]!.atMs, toMs: EVENTS[7]!.atMs + 1, actor: EVENTS[7]!.actor, limit: 10 })).events;
    expect(seven).toEqual([{ ...EVENTS[7], id: expect.stringMatching(UUID_V7) }]);
  });

  it("every event has its id: unique, time-ordered (UUID v7), the row's event_id, the same on every read", async () => {
    const first = (await log.list({ limit: 1000 })).events;
    const ids = first.map((e) => e.id!);
    expect(new Set(ids).size).toBe(250);
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect((await log.list({ limit: 1000 })).events.map((e) => e.id)).toEqual(ids);
    const rows = await chQuery<{ event_id: string; i: string }>(ch.url, database, "SELECT DISTINCT event_id, toString(visitParamExtractInt(details, 'i')) AS i FROM audit_log");
    const byI = new Map(first.map((e) => [String(idOf(e)), e.id]));
    expect(rows).toHaveLength(250);
    expect(rows.every((r) => byI.get(r.i) === r.event_id)).toBe(true);
    // A row written before ids were returned (a random version 4 UUID) comes back with it.
    const v4 = "3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e";
    await client.insert({ table: "audit_log", values: [{ event_id: v4, at_ms: T0 - 1, actor: "old-row", actor_role: "", source: "", action: "cli/x", target: "", outcome: "ok", details: "{}" }], format: "JSONEachRow" });
    expect((await log.list({ actor: "old-row", limit: 5 })).events.map((e) => e.id)).toEqual([v4]);
  });

  it("a cursor the reader did not give is refused as invalid_input", async () => {
    await expect(log.list({ limit: 5, after: "12.x'y" })).rejects.toMatchObject({ code: "invalid_input" });
  });

  it("retention knows audit_log and drops its expired partitions", async () => {
    expect(RETENTION_TIME_COLUMNS.audit_log).toBe("at");
    const old = Date.UTC(2024, 5, 10);
    await log.record({ ...eventAt(0), atMs: old, actor: "old", details: { i: -1 } });
    await log.flush();
    expect((await log.list({ actor: "old", limit: 10 })).events).toHaveLength(1);
    const summary = await applyRetention(sqlRunner(client), { audit_log: 730 * DAY }, { nowMs: NOW, deleteBoundary: false });
    expect(summary.dropped).toEqual([{ table: "audit_log", partition: "202406", rows: 1 }]);
    expect((await log.list({ actor: "old", limit: 10 })).events).toEqual([]);
    expect((await log.list({ limit: 1000 })).events.filter((e) => e.actor !== "old-row")).toHaveLength(250);
  });
});

describe("shoal audit against an AuditService on ClickHouse", () => {
  let server: grpc.Server;
  let address: string;

  beforeAll(async () => {
    server = new grpc.Server();
    addAuditService(server, createAuditService({ reader: log }), { timeoutMs: 10_000, maxConcurrentPerCaller: 8, maxStreamsPerCaller: 2 });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    address = `127.0.0.1:${port}`;
  });

  afterAll(async () => {
    if (server) await shutdownServer(server, 2_000);
  });

  it("prints the filtered events newest first as a table, paging past 1000 rows per call when asked", async () => {
    let out = "";
    let err = "";
    const io = { env: {}, stdout: (s: string) => void (out += s), stderr: (s: string) => void (err += s) };
    const code = await audit(["--query", address, "--actor", "carol", "--action", "shoal.v1.Config", "--limit", "5000"], io);
    expect([code, err]).toEqual([0, ""]);
    const expected = EVENTS.filter((e) => e.actor === "carol" && e.action.startsWith("shoal.v1.Config"));
    expect(expected.length).toBeGreaterThan(5);
    const lines = out.trimEnd().split("\n");
    expect(lines[0]!.split(/\s+/)).toEqual(["TIME", "ACTOR", "ROLE", "SOURCE", "ACTION", "TARGET", "OUTCOME"]);
    const rows = lines.slice(1).map((l) => l.split(/\s+/));
    expect(rows.map((r) => r.slice(1))).toEqual(
      [...expected].sort((a, b) => b.atMs - a.atMs || idOf(b) - idOf(a)).map((e) => [e.actor, e.actorRole, e.source, e.action, e.target, e.outcome]),
    );
    expect(rows.map((r) => Date.parse(r[0]!))).toEqual([...expected].map((e) => e.atMs).sort((a, b) => b - a));

    out = "";
    expect(await audit(["--query", address, "--target", "device/", "--limit", "3", "--json"], io)).toBe(0);
    const newest = EVENTS.filter((e) => e.target.startsWith("device/")).sort((a, b) => b.atMs - a.atMs);
    const json = JSON.parse(out) as Array<{ atMs: number; target: string; details: { i: number } }>;
    expect(json).toHaveLength(3);
    expect(json.map((e) => e.atMs)).toEqual(newest.slice(0, 3).map((e) => e.atMs));
    expect(json.every((e) => e.target.startsWith("device/"))).toBe(true);
  });
});

describe("shoal config set/rollback record themselves", () => {
  const cliDb = "audit_cli";
  const env = () => ({ SHOAL_ENV: "test", SHOAL__CONSUL__URL: consul.url, SHOAL__CLICKHOUSE__URL: ch.url, SHOAL__CLICKHOUSE__DATABASE: cliDb, USER: "tester" });
  const shoalConfig = async (e: Record<string, string>, ...argv: string[]) => {
    let out = "";
    let err = "";
    const code = await config(argv, { env: e, stdout: (s) => (out += s), stderr: (s) => (err += s) });
    return { code, out, err };
  };

  it("as cli:<os user>, source local, with the redacted changes; a ClickHouse that is down only warns", async () => {
    await migrate(opts(cliDb));
    expect(await shoalConfig(env(), "set", "detector.threshold", "0.8")).toMatchObject({ code: 0, err: "" });
    expect(await shoalConfig(env(), "set", "mqtt.password", "s3cret-value")).toMatchObject({ code: 0, err: "warning: mqtt.password is a secret stored in plain text in Consul; prefer `shoal config encrypt`\n" });
    expect(await shoalConfig(env(), "rollback", "1")).toMatchObject({ code: 0, err: "" });
    const version = (r: AuditRow) => (JSON.parse(r.details) as { version: number }).version;
    const rows = (await chQuery<AuditRow>(ch.url, cliDb, "SELECT actor, actor_role, source, action, target, outcome, details FROM audit_log FINAL")).sort((a, b) => version(a) - version(b));
    const user = `cli:${userInfo().username}`;
    expect(rows.map((r) => [r.actor, r.actor_role, r.source, r.action, r.target, r.outcome])).toEqual([
      [user, "", "local", "cli/config set", "config/detector.threshold", "ok"],
      [user, "", "local", "cli/config set", "config/mqtt.password", "ok"],
      [user, "", "local", "cli/config rollback", "config/", "ok"],
    ]);
    expect(JSON.parse(rows[0]!.details)).toEqual({ key: "shoal/test/config.yaml", version: 1, message: "set detector.threshold", changes: [{ path: "detector.threshold", after: 0.8 }] });
    expect(JSON.parse(rows[1]!.details)).toEqual({ key: "shoal/test/config.yaml", version: 2, message: "set mqtt.password", changes: [{ path: "mqtt.password", after: "[redacted]" }] });
    expect(rows.map((r) => r.details).join()).not.toContain("s3cret-value");
    expect(JSON.parse(rows[2]!.details)).toMatchObject({ version: 3, to: 1, message: "rollback to 1" });

    const down = await shoalConfig({ ...env(), SHOAL__CLICKHOUSE__URL: "http://127.0.0.1:1" }, "set", "detector.threshold", "0.85");
    expect(down.code).toBe(0);
    expect(down.out).toBe("shoal/test/config.yaml: version 4 written (set detector.threshold)\n");
    expect(down.err).toMatch(/^warning: the audit log did not record this change: audit log insert failed: .*ECONNREFUSED.*\n$/);
  });
});
