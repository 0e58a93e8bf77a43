import { describeError } from "../base/errors.js";
import { UsageError, type Command, type CommandIo } from "./io.js";
import { localStackEnv } from "./local-stack-credentials.js";

/**
 * `shoal <command>`: the composition roots of every role, plus tools. Commands are loaded lazily so
 * each role pulls in only its own adapters.
 */
const commands: Record<string, { describe: string; load: () => Promise<Command> }> = {
  up: { describe: "run every role in one process (--demo adds the device simulator)", load: async () => (await import("./up.command.js")).run },
  bridge: { describe: "run the MQTT → JetStream bridge", load: async () => (await import("./bridge.command.js")).run },
  runtime: { describe: "run the actor runtime (journal → device actors → ClickHouse)", load: async () => (await import("./runtime.command.js")).run },
  query: { describe: "run the read side: shoal.v1.QueryService and AlertService over gRPC (ClickHouse, vectors, live rows), and the console", load: async () => (await import("./query.command.js")).run },
  console: { describe: "run the operators' console (a console pod): the read side + the app on query.webPort; admin via console.adminAddress", load: async () => (await import("./console.command.js")).run },
  devices: { describe: "the device registry: add|list|show|label|disable|enable|rotate|delete|import (a client of DeviceService)", load: async () => (await import("./devices.command.js")).run },
  command: { describe: "commands to devices: send|show|list (a client of DeviceCommandService)", load: async () => (await import("./command.command.js")).run },
  audit: { describe: "the audit log, newest first: who changed what, when, from where (--since 1h --actor A --action P --target P)", load: async () => (await import("./audit.command.js")).run },
  alerts: { describe: "run the alert relay and notifier (storm control, silences, signed webhooks)", load: async () => (await import("./alerts.command.js")).run },
  reports: { describe: "scheduled AI reports: run the leader-elected scheduler | run --schedule S --period <ISO|ms> (backfill one period)", load: async () => (await import("./reports.command.js")).run },
  gateway: { describe: "run the AI model gateway (gRPC)", load: async () => (await import("./gateway.command.js")).run },
  detect: { describe: "score a CSV file of readings with the device actor's own code: shoal detect FILE [--format csv|json] [--params JSON]", load: async () => (await import("./detect.command.js")).run },
  simulate: { describe: "simulate devices: --devices N --rate R --duration S", load: async () => (await import("./simulate.command.js")).run },
  stack: { describe: "local services: stack up|down|status|install", load: async () => (await import("./stack.command.js")).run },
  cluster: { describe: "cluster: status|rebalance|drain <node> (partitions, leases, members)", load: async () => (await import("./cluster.command.js")).run },
  admin: { describe: "a running process over its admin gRPC: info|counters|stats|restart-worker <i> --admin host:port", load: async () => (await import("./admin.command.js")).run },
  repair: { describe: "put rows ClickHouse lost back from the row log: --since 10m (runtimes do it by themselves)", load: async () => (await import("./repair.command.js")).run },
  vectors: { describe: "the vector store: status | rebuild --since 7d (again from what ClickHouse stored)", load: async () => (await import("./vectors.command.js")).run },
  config: { describe: "configuration: print|get|set|diff|history|rollback|encrypt", load: async () => (await import("./config.command.js")).run },
};

function usage(io: CommandIo): void {
  io.stdout("usage: shoal <command> [options]\n\ncommands:\n");
  for (const [name, c] of Object.entries(commands)) io.stdout(`  ${name.padEnd(10)} ${c.describe}\n`);
}

async function main(): Promise<number> {
  const [name, ...argv] = process.argv.slice(2);
  const io: CommandIo = { env: process.env, stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    usage(io);
    return name === undefined ? 2 : 0;
  }
  const c = commands[name];
  if (c === undefined) {
    io.stderr(`shoal: unknown command "${name}"\n`);
    usage(io);
    return 2;
  }
  try {
    // The local stack's generated service credentials, where the configuration points at it.
    const env = name === "stack" ? io.env : localStackEnv(io.env);
    return await (await c.load())(argv, { ...io, env });
  } catch (e) {
    io.stderr(`shoal ${name}: ${e instanceof UsageError ? e.message : describeError(e)}\n`);
    // A command that failed part-way (a role whose NATS refused its credentials, say) may leave
    // open what it had started (config watcher, connections, timers): end the process rather than
    // keep running without doing its job. stderr is written synchronously to files and pipes.
    process.exit(1);
  }
}

process.exitCode = await main();
