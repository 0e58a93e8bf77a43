/**
 * A reports role in a process of its own, for test/chaos/reports-leader.test.ts: real Consul and
 * ClickHouse from the environment, the in-process gateway (local models) whose Summarize can be
 * made slow (REPORTS_SUMMARIZE_DELAY_MS) so a SIGKILL lands mid-generation. Prints one JSON line per
 * event on stdout: started, campaigning (session), leader / follower (with the wall time), summarizing,
 * report, stats. SIGTERM closes it gracefully (exit 0).
 */
import { sleep } from "../../src/base/clock.js";
import { startReportsRole } from "../../src/cli/roles/reports-role.js";
import { createGateway, gatewayConfigSchema } from "../../src/gateway/index.js";
import { createLogger } from "../../src/observability/logger.js";
import type { SummarizeRequest } from "../../src/ports/gateway.js";

const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined || v === "") throw new Error(`${k} is not set`);
  return v;
};
const say = (event: string, fields: object = {}) => process.stdout.write(`${JSON.stringify({ event, node: env("REPORTS_NODE"), at: Date.now(), ...fields })}\n`);

const delayMs = Number(process.env.REPORTS_SUMMARIZE_DELAY_MS ?? 0);
const gateway = createGateway({ config: gatewayConfigSchema.parse({}) });
const slow = {
  async summarize(req: SummarizeRequest, o?: Parameters<typeof gateway.summarize>[1]) {
    say("summarizing", { reportId: req.subjectId });
    await sleep(delayMs, undefined, o?.signal);
    return gateway.summarize(req, o);
  },
};

const role = await startReportsRole(
  {
    enabled: true,
    leaderKey: env("REPORTS_LEADER_KEY"),
    sessionTtlMs: Number(env("REPORTS_TTL_MS")),
    catchUpMax: 48,
    schedules: [{ name: env("REPORTS_SCHEDULE"), everyMs: Number(env("REPORTS_EVERY_MS")), delayMs: 0, scope: { kind: "fleet" }, maxItems: 20 }],
  },
  createLogger({ level: "warn", name: `reports-${env("REPORTS_NODE")}` }),
  {
    gateway: slow,
    clickhouse: { url: env("REPORTS_CLICKHOUSE_URL"), database: env("REPORTS_DB"), username: "default", password: "", flushIntervalMs: 20 },
    consul: { url: env("REPORTS_CONSUL_URL") },
    nodeId: env("REPORTS_NODE"),
    migrate: false,
    onLeader: (leader, reason) => say(leader ? "leader" : "follower", { reason }),
    onReport: (schedule, out) => say("report", { schedule, reportId: out.reportId, status: out.status }),
  },
);
say("started");
let last = "";
let campaigning = false;
const timer = setInterval(() => {
  const s = role.stats();
  if (s.election?.session !== undefined && !campaigning) {
    campaigning = true;
    say("campaigning", { session: s.election.session });
  }
  const now = JSON.stringify(s.scheduler);
  if (now !== last) say("stats", { ...s.scheduler, leader: s.leader });
  last = now;
}, 100);
process.once("SIGTERM", () => {
  clearInterval(timer);
  void role.close().then(async () => {
    await gateway.close();
    process.exit(0);
  });
});
