import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAccessCheck } from "../access/index.js";
import { systemClock } from "../base/clock.js";
import { ShoalError } from "../base/errors.js";
import { addDeviceService, createDeviceService } from "../device-service/index.js";
import { RecordingBroker } from "../device-service/testing.js";
import { shutdownServer } from "../grpc/index.js";
import { verifyPassword } from "../registry/credentials.js";
import { MemoryDeviceRegistry } from "../registry/memory-registry.js";
import { IMPORT_CHUNK_ROWS } from "./devices-ops.js";
import { run } from "./devices.command.js";

/** `shoal devices` against a DeviceService on a real grpc-js port in this process (tokens checked). */
const OPERATOR = "o".repeat(24);
const ADMIN = "a".repeat(24);

describe("shoal devices", () => {
  let server: grpc.Server;
  let address: string;
  let registry: MemoryDeviceRegistry;
  let broker: RecordingBroker;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "shoal-devices-"));
    server = new grpc.Server();
    const access = createAccessCheck([
      { name: "oncall", role: "operator", token: OPERATOR },
      { name: "root", role: "admin", token: ADMIN },
    ]);
    const impl = createDeviceService({
      get registry() {
        return registry;
      },
      get broker() {
        return broker;
      },
      clock: systemClock,
    });
    addDeviceService(server, impl, { timeoutMs: 30_000, maxConcurrentPerCaller: 8, maxStreamsPerCaller: 8, access });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    address = `127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await shutdownServer(server, 1000);
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    registry = new MemoryDeviceRegistry();
    broker = new RecordingBroker();
  });

  /** Runs `shoal devices <argv> --query <address>` as `token`, capturing output. */
  const shoal = async (argv: string[], token: string | null = OPERATOR) => {
    const o = { out: "", err: "" };
    const io = { env: token === null ? {} : { SHOAL_TOKEN: token }, stdout: (s: string) => void (o.out += s), stderr: (s: string) => void (o.err += s) };
    const code = await run([...argv, "--query", address], io);
    return { code, ...o };
  };
  const valueOf = (text: string, key: string) => new RegExp(`^${key} (\\S+)$`, "m").exec(text)?.[1];

  it("add prints the password once with a warning; it verifies against the stored hash; the token's name is recorded", async () => {
    const r = await shoal(["add", "therm-1", "--type", "thermostat", "--label", "site=berlin", "--label", "floor=2"]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^device therm-1 registered \(enabled\)\nusername therm-1\npassword \S{24,}\n$/);
    expect(r.err).toMatch(/^warning: the password is shown only this once/);
    const pw = valueOf(r.out, "password")!;
    const rec = (await registry.get("therm-1"))!;
    expect(rec).toMatchObject({ type: "thermostat", labels: { site: "berlin", floor: "2" }, enabled: true, updatedBy: "oncall" });
    expect(await verifyPassword(pw, rec.passwordHash)).toBe(true);
    expect(broker.calls).toEqual([["putDevice", "therm-1", pw, true, rec.credentialsRotatedAtMs]]);

    const shown = await shoal(["show", "therm-1"]);
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(/^id +therm-1$/m);
    expect(shown.out).toMatch(/^labels +site=berlin,floor=2$/m);
    expect(shown.out).not.toContain(pw);

    const again = await shoal(["add", "therm-1"]);
    expect(again.code).toBe(1);
    expect(again.err).toBe("shoal devices add: [already_exists] device therm-1 exists already\n");
  });

  it("list filters and pages through everything up to --limit; --json gives the total", async () => {
    for (const id of ["a-1", "a-2", "a-3", "b-1"]) expect((await shoal(["add", id, "--type", id.startsWith("a") ? "meter" : "valve", ...(id === "a-2" ? ["--disabled"] : [])])).code).toBe(0);
    const all = await shoal(["list"]);
    expect(all.out.split("\n").filter((l) => l !== "").map((l) => l.split(/\s+/)[0])).toEqual(["a-1", "a-2", "a-3", "b-1", "4"]);
    expect(all.out).toMatch(/4 of 4 device\(s\)\n$/);
    const meters = await shoal(["list", "--type", "meter", "--enabled", "--json"]);
    const j = JSON.parse(meters.out) as { devices: Array<{ id: string }>; total: number };
    expect(j.devices.map((d) => d.id)).toEqual(["a-1", "a-3"]);
    expect(j.total).toBe(2);
    const limited = await shoal(["list", "--prefix", "a", "--limit", "2"]);
    expect(limited.out).toMatch(/^a-1 .*\na-2 .*\n2 of 3 device\(s\)\n$/);
    expect((await shoal(["list", "--disabled"])).out).toMatch(/^a-2 +meter +disabled/);
  });

  it("label, disable, enable, rotate and delete change the registry and the broker", async () => {
    const first = valueOf((await shoal(["add", "d-1", "--label", "site=oslo"])).out, "password")!;
    const l = await shoal(["label", "d-1", "rack=7", "--remove", "site", "--type", "meter"]);
    expect(l.code, l.err).toBe(0);
    expect(l.out).toBe("device d-1: rack=7 (type meter)\n");
    expect((await registry.get("d-1"))!.labels).toEqual({ rack: "7" });

    expect((await shoal(["disable", "d-1", "--reason", "stolen"])).out).toBe("device d-1 disabled\n");
    expect((await registry.get("d-1"))!.enabled).toBe(false);
    expect((await shoal(["enable", "d-1"])).out).toBe("device d-1 enabled\n");
    expect(broker.calls.slice(1)).toEqual([
      ["setEnabled", "d-1", false],
      ["setEnabled", "d-1", true],
    ]);

    const rot = await shoal(["rotate", "d-1"], ADMIN);
    expect(rot.code, rot.err).toBe(0);
    expect(rot.err).toMatch(/^warning: the password is shown only this once/);
    const pw = valueOf(rot.out, "password")!;
    expect(pw).not.toBe(first);
    const rec = (await registry.get("d-1"))!;
    expect(await verifyPassword(pw, rec.passwordHash)).toBe(true);
    expect(rec.updatedBy).toBe("root");

    const refused = await shoal(["delete", "d-1"]);
    expect(refused.code).toBe(2);
    expect(refused.err.split("\n")[0]).toBe("shoal devices delete removes d-1 and its broker account: add --yes to confirm");
    expect(await registry.get("d-1")).toBeDefined();
    const operator = await shoal(["delete", "d-1", "--yes"]);
    expect(operator.code).toBe(1);
    expect(operator.err).toMatch(/^shoal devices delete: \[permission_denied\] DeleteDevice needs the admin role/);
    const del = await shoal(["delete", "d-1", "--yes"], ADMIN);
    expect(del.err).toBe("");
    expect(del.out).toBe("device d-1 deleted (its stored readings stay)\n");
    expect(await registry.get("d-1")).toBeUndefined();
    expect(broker.calls.at(-1)).toEqual(["removeDevice", "d-1"]);
    const gone = await shoal(["show", "d-1"]);
    expect(gone.code).toBe(1);
    expect(gone.err).toBe("shoal devices show: [not_found] device d-1: not found\n");
  });

  it("import prints id,username,password CSV (or writes a new 0600 file with --out); a bad row imports nothing", async () => {
    await shoal(["add", "old-1"]);
    const csv = join(dir, "fleet.csv");
    writeFileSync(csv, "id,type,labels\nnew-1,meter,site=berlin;floor=2\nold-1,,\nnew-2,valve,\n");
    const r = await shoal(["import", csv]);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split("\n");
    expect(lines[0]).toBe("id,username,password");
    expect(lines.slice(1).map((l) => l.split(",").slice(0, 2).join(","))).toEqual(["new-1,new-1", "new-2,new-2"]);
    expect(r.err).toContain("created 2, skipped 1 (registered already: old-1)");
    expect(await verifyPassword(lines[1]!.split(",")[2]!, (await registry.get("new-1"))!.passwordHash)).toBe(true);
    expect((await registry.get("new-1"))!.labels).toEqual({ site: "berlin", floor: "2" });

    writeFileSync(csv, "id\nnew-3\n");
    const file = join(dir, "credentials.csv");
    const w = await shoal(["import", csv, "--out", file]);
    expect(w.code, w.err).toBe(0);
    expect(w.out).toBe(`created 1, skipped 0\ncredentials of 1 device(s) written to ${file} (mode 0600)\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8")).toMatch(/^id,username,password\nnew-3,new-3,\S{24,}\n$/);
    const exists = await shoal(["import", csv, "--out", file]);
    expect(exists.code).toBe(2);

    writeFileSync(csv, "id\nok-9\nbad id\n");
    const bad = await shoal(["import", csv]);
    expect(bad.code).toBe(1);
    expect(bad.err).toBe(`shoal devices import: ${csv}: line 3: id: must match ^[A-Za-z0-9_-]{1,128}$ (nothing was imported)\n`);
    expect(await registry.get("ok-9")).toBeUndefined();
  });

  it(`import goes in calls of ${IMPORT_CHUNK_ROWS} rows; a failure part way keeps the credentials already written and a re-run goes on`, async () => {
    const ids = Array.from({ length: IMPORT_CHUNK_ROWS + 5 }, (_, i) => `bulk-${String(i).padStart(2, "0")}`);
    const csv = join(dir, "bulk.csv");
    // Labels with a comma and a quote survive the re-encoding of each call.
    writeFileSync(csv, `id,labels\n${ids.map((id) => `${id},"note=a, ""b"";site=x"`).join("\n")}\n`);
    const failAt = ids[IMPORT_CHUNK_ROWS + 2]!;
    const create = registry.create.bind(registry);
    registry.create = async (rec) => {
      if (rec.id === failAt) throw new ShoalError("kv unavailable", { code: "storage_unavailable", retryable: true });
      return create(rec);
    };
    const file = join(dir, "bulk-credentials.csv");
    const r = await shoal(["import", csv, "--out", file]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`stopped at line ${IMPORT_CHUNK_ROWS + 2} of ${csv}: [unavailable]`);
    expect(r.err).toContain(`device(s) registered before it (credentials in ${file}); run the same import again`);
    const written = readFileSync(file, "utf8").trim().split("\n").slice(1);
    expect(written.length).toBe(IMPORT_CHUNK_ROWS);
    for (const line of written.slice(0, 3)) {
      const [id, , pw] = line.split(",");
      expect(await verifyPassword(pw!, (await registry.get(id!))!.passwordHash)).toBe(true);
    }
    expect((await registry.get(ids[0]!))!.labels).toEqual({ note: 'a, "b"', site: "x" });

    registry.create = create;
    const again = await shoal(["import", csv, "--json"]);
    expect(again.code, again.err).toBe(0);
    const j = JSON.parse(again.out) as { devices: Array<{ id: string; skipped?: boolean }>; created: number; skipped: number };
    expect(j.created + j.skipped).toBe(ids.length);
    expect(j.skipped).toBeGreaterThanOrEqual(IMPORT_CHUNK_ROWS);
    expect(j.devices.map((d) => d.id)).toEqual(ids);
    expect((await registry.list()).length).toBe(ids.length);
  });

  it("refuses bad usage with exit 2 before calling, and a call without a token at the server", async () => {
    const cases: Array<[string[], string]> = [
      [["add"], "shoal devices add takes one device id"],
      [["add", "d-1", "--label", "novalue"], '--label must be key=value, got "novalue"'],
      [["list", "--enabled", "--disabled"], "--enabled and --disabled exclude each other"],
      [["list", "--limit", "0"], '--limit must be 1..100000, got "0"'],
      [["label", "d-1"], "shoal devices label: nothing to change (give k=v, --remove k or --type T)"],
      [["frobnicate"], 'unknown command "frobnicate"'],
    ];
    for (const [argv, message] of cases) {
      const r = await shoal(argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err.split("\n")[0]).toBe(message);
    }
    expect(await registry.list()).toEqual([]);
    const anon = await shoal(["list"], null);
    expect(anon.code).toBe(1);
    expect(anon.err).toMatch(/^shoal devices list: \[unauthenticated\]/);
  });
});
