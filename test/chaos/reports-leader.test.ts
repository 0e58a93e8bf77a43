import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startClickHouse, startConsul, type ServiceHandle } from "../harness/index.js";
import { createClickHouseClient, migrate } from "../../src/adapters/clickhouse/index.js";
import { newestDueFrom, reportIdOf } from "../../src/reports/index.js";
import { chQuery, exited, waitFor } from "../support/pipeline.js";

/**
 * Chaos: two reports roles in processes of their own (real Consul, real ClickHouse). The leader is
 * SIGKILLed in the middle of generating a period (its Summarize is slow); the stand-by takes over
 * once Consul invalidated the dead leader's session (TTL..2×TTL after its last renew, plus the lock
 * delay) and the report of that period exists exactly once, as does every other period caught up.
 */
const TTL_MS = 10_000;
const LOCK_DELAY_MS = 1_000;
const EVERY_MS = 60_000;
const SCHEDULE = "chaos-minutely";
const DB = "reports_chaos";
const CHILD = fileURLToPath(new URL("../support/reports-child.ts", import.meta.url));

interface Proc {
  readonly child: ChildProcess;
  events(): Array<Record<string, unknown> & { event: string; at: number }>;
  out(): string;
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

function spawnReports(node: string, env: Record<string, string>): Proc {
  let out = "";
  const child = spawn(process.execPath, ["--import", "tsx", CHILD], { env: { ...process.env, ...env, REPORTS_NODE: node }, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  live.add(child);
  child.once("exit", () => live.delete(child));
  return {
    child,
    out: () => out,
    events: () =>
      out
        .split("\n")
        .filter((l) => l.startsWith('{"event"'))
        .map((l) => JSON.parse(l) as Record<string, unknown> & { event: string; at: number }),
  };
}

describe("reports leader SIGKILL mid-generation", () => {
  let consul: ServiceHandle;
  let ch: ServiceHandle;
  beforeAll(async () => {
    [consul, ch] = await Promise.all([startConsul(), startClickHouse()]);
    await migrate({ url: ch.url, database: DB, username: "default", password: "" });
  }, 120_000);
  afterAll(async () => {
    await Promise.all([...live].map((c) => (c.kill("SIGKILL"), exited(c))));
    await Promise.all([consul?.cleanup(), ch?.cleanup()]);
  });

  it("the stand-by takes over within the session bound and every period's report exists exactly once", async () => {
    const schedule = { everyMs: EVERY_MS, delayMs: 0 };
    // The last report stored 2 periods before the newest due one: 2 periods to catch up at start.
    const seeded = newestDueFrom(schedule, Date.now()) - 2 * EVERY_MS;
    const client = createClickHouseClient({ url: ch.url, database: DB, username: "default", password: "" });
    await client.insert({ table: "reports", format: "JSONEachRow", values: [{ report_id: reportIdOf(SCHEDULE, seeded), kind: SCHEDULE, scope: "fleet", period_from_ms: seeded, period_to_ms: seeded + EVERY_MS, created_at_ms: Date.now(), title: "seeded", body: "", provider: "local", model: "m", cost_usd: 0 }] });
    await client.close();
    const env = {
      REPORTS_CLICKHOUSE_URL: ch.url,
      REPORTS_DB: DB,
      REPORTS_CONSUL_URL: consul.url,
      REPORTS_LEADER_KEY: "shoal/chaos/reports/leader",
      REPORTS_TTL_MS: String(TTL_MS),
      REPORTS_SCHEDULE: SCHEDULE,
      REPORTS_EVERY_MS: String(EVERY_MS),
    };
    const count = async (id: string, final: boolean) => Number((await chQuery<{ n: string }>(ch.url, DB, `SELECT count() AS n FROM reports${final ? " FINAL" : ""} WHERE report_id = '${id}'`))[0]!.n);

    // A leads and starts on the first missing period, slowly (its Summarize takes 2 minutes).
    const a = spawnReports("a", { ...env, REPORTS_SUMMARIZE_DELAY_MS: "120000" });
    const summarizing = await waitFor(async () => a.events().find((e) => e.event === "summarizing"), (e) => e !== undefined, 60_000, `a to lead and start a report:\n${a.out()}`);
    expect(a.events().filter((e) => e.event === "leader")).toHaveLength(1);
    const victim = String(summarizing!.reportId);
    expect(victim).toBe(reportIdOf(SCHEDULE, seeded + EVERY_MS));
    // B stands by with a live session.
    const b = spawnReports("b", env);
    await waitFor(async () => b.events().some((e) => e.event === "campaigning"), (x) => x, 60_000, `b to campaign:\n${b.out()}`);
    expect(b.events().some((e) => e.event === "leader")).toBe(false);
    // Mid-generation: nothing written yet.
    expect(await count(victim, false)).toBe(0);
    a.child.kill("SIGKILL");
    await exited(a.child);
    const killedAt = Date.now();

    // Consul invalidates A's session TTL..2×TTL after its last renew (it renewed every TTL/3), then the lock delay runs.
    const bound = 2 * TTL_MS + LOCK_DELAY_MS + 5_000;
    const elected = await waitFor(async () => b.events().find((e) => e.event === "leader"), (e) => e !== undefined, bound, `b to take over within ${bound} ms:\n${b.out()}`);
    const failoverMs = elected!.at - killedAt;
    // B catches up from the seeded period: the victim and every period due since, each once.
    const idle = await waitFor(
      async () => b.events().filter((e) => e.event === "stats" && e.leader === true && Number(e.idleUntilMs) > elected!.at).at(-1),
      (e) => e !== undefined,
      60_000,
      `b to finish catching up:\n${b.out()}`,
    );
    const newest = Number(idle!.idleUntilMs) - 2 * EVERY_MS; // nextDueAt = newest due + 2 periods (delay 0)
    const ids: string[] = [];
    for (let from = seeded + EVERY_MS; from <= newest; from += EVERY_MS) ids.push(reportIdOf(SCHEDULE, from));
    expect(ids[0]).toBe(victim);
    const final = await Promise.all(ids.map((id) => count(id, true)));
    const raw = await Promise.all(ids.map((id) => count(id, false)));
    console.log(
      [
        "",
        "| report | rows FINAL | raw rows |",
        "|---|---|---|",
        ...ids.map((id, i) => `| ${id}${id === victim ? " (leader killed mid-generation)" : ""} | ${final[i]} | ${raw[i]} |`),
        "",
        `failover: SIGKILL -> stand-by elected in ${failoverMs} ms (session TTL ${TTL_MS} ms: Consul invalidates after up to 2×TTL; lock delay ${LOCK_DELAY_MS} ms)`,
        "",
      ].join("\n"),
    );
    expect(final).toEqual(ids.map(() => 1));
    expect(raw).toEqual(ids.map(() => 1));
    expect(b.events().filter((e) => e.event === "report" && e.reportId === victim).map((e) => e.status)).toEqual(["written"]);
    expect(failoverMs).toBeLessThanOrEqual(bound);

    b.child.kill("SIGTERM");
    expect(await exited(b.child)).toBe(0);
  });
});
