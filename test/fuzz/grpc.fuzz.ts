/**
 * gRPC fuzzing (issue 17): N malformed requests (default 10^5) at each Shoal service over its real
 * port — the query gRPC port (Query, Alert, Device, DeviceCommand, Audit), the admin and model
 * gateway gRPC ports, and the console's HTTP port for ConfigService (served only there; Connect
 * and gRPC-web) — with the real implementations over in-memory stores (test/fuzz/grpc/services.ts).
 * Prints a table per service and exits 1 on a hang, a status without a message, a failed health
 * check, an internal error a service reported, a TimeoutOverflowWarning, or a crash.
 *
 *   npx tsx test/fuzz/grpc.fuzz.ts [N per service] [seed]     (npm run fuzz:grpc -- [N] [seed])
 *   FUZZ_SERVICE=<part of a name> and FUZZ_TRANSPORT=grpc|http narrow it.
 */
import { fuzzService, type ServiceStats } from "./grpc/run.js";
import { startFuzzServers } from "./grpc/services.js";

const n = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? 17);
/** FUZZ_SERVICE=<part of a service name>: that service only. */
const only = process.env.FUZZ_SERVICE;
/** FUZZ_TRANSPORT=grpc|http: only the gRPC ports, or only the console's HTTP port. */
const transport = process.env.FUZZ_TRANSPORT;
if (!Number.isSafeInteger(n) || n <= 0 || !Number.isSafeInteger(seed)) {
  console.error("usage: tsx test/fuzz/grpc.fuzz.ts [N per service > 0] [seed]");
  process.exit(2);
}

let crashes = 0;
// A `grpc-timeout` too large for a Node timer used to become 1 ms on the console's port (Node warning
// each time; src/grpc/web-timeout-headers.ts drops such headers now): counted, and a failure.
let timeoutOverflows = 0;
process.removeAllListeners("warning");
process.on("warning", (w) => {
  if (w.name === "TimeoutOverflowWarning") timeoutOverflows++;
  else console.error(w);
});
process.on("uncaughtException", (e) => {
  crashes++;
  console.error("uncaught exception:", e);
});
process.on("unhandledRejection", (e) => {
  crashes++;
  console.error("unhandled rejection:", e);
});

const fmt = (x: number) => x.toLocaleString("en-US");
const servers = await startFuzzServers();
const results: ServiceStats[] = [];
try {
  for (const [i, t] of servers.targets.entries()) {
    if (only !== undefined && !t.service.typeName.includes(only)) continue;
    if ((transport === "grpc" && t.grpcAddress === undefined) || (transport === "http" && t.grpcAddress !== undefined)) continue;
    process.stderr.write(`  ${t.service.typeName} (${t.grpcAddress ? `gRPC ${t.grpcAddress}` : `HTTP ${t.httpUrl}`}): ${fmt(n)} calls over ${t.service.methods.length} RPCs …\n`);
    const s = await fuzzService(t, servers, { n, seed: seed * 1000 + i });
    results.push(s);
    const codes = Object.entries(s.byCode).sort((a, b) => b[1] - a[1]);
    console.log(`\n${s.service} — ${t.grpcAddress ? "gRPC" : "HTTP (Connect, gRPC-web)"}, ${t.service.methods.length} RPCs`);
    console.log(`  calls ${fmt(s.calls)} (${fmt(Math.round(s.calls / (s.elapsedMs / 1000)))} calls/s, ${(s.elapsedMs / 1000).toFixed(1)} s); not sent (client refused the metadata) ${fmt(s.clientRefused)}`);
    console.log(`  statuses: ${codes.map(([c, k]) => `${c} ${fmt(k)}`).join(", ")}`);
    console.log(`  requests: ${Object.entries(s.byKind).map(([k, c]) => `${k} ${fmt(c)}`).join(", ")}`);
    console.log(`  past the token check and parsing (OK, open stream, or the implementation's INVALID_ARGUMENT/NOT_FOUND/FAILED_PRECONDITION/…), per RPC: ${Object.entries(s.byMethod).map(([m, x]) => `${m} ${fmt(x.reached)}/${fmt(x.calls)}`).join(", ")}`);
    console.log(`  hangs ${fmt(s.hangs)}, non-OK without a message ${fmt(s.noReason)}, health checks passed ${s.healthOk}/${s.healthRuns}, internal errors reported ${fmt(s.internalErrors)}, crashes so far ${crashes}`);
    for (const e of s.examples) console.log(`    ${e}`);
  }
} finally {
  await servers.close();
}

console.log(`\n${"service".padEnd(34)} ${"calls".padStart(9)} ${"calls/s".padStart(8)} ${"OK/open".padStart(8)} ${"INV_ARG".padStart(8)} ${"UNAUTH".padStart(8)} ${"DENIED".padStart(8)} ${"INTERNAL".padStart(8)} ${"other".padStart(8)} ${"hangs".padStart(6)} ${"no-msg".padStart(6)} ${"health".padStart(7)}`);
for (const s of results) {
  const c = (k: string) => s.byCode[k] ?? 0;
  const ok = c("OK") + c("OPEN");
  const named = ok + c("INVALID_ARGUMENT") + c("UNAUTHENTICATED") + c("PERMISSION_DENIED") + c("INTERNAL");
  console.log(
    `${s.service.padEnd(34)} ${fmt(s.calls).padStart(9)} ${fmt(Math.round(s.calls / (s.elapsedMs / 1000))).padStart(8)} ${fmt(ok).padStart(8)} ${fmt(c("INVALID_ARGUMENT")).padStart(8)} ${fmt(c("UNAUTHENTICATED")).padStart(8)} ${fmt(c("PERMISSION_DENIED")).padStart(8)} ${fmt(c("INTERNAL")).padStart(8)} ${fmt(s.calls - named).padStart(8)} ${fmt(s.hangs).padStart(6)} ${fmt(s.noReason).padStart(6)} ${`${s.healthOk}/${s.healthRuns}`.padStart(7)}`,
  );
}
console.log(`crashes (uncaught exceptions, unhandled rejections): ${crashes}; TimeoutOverflowWarnings (a huge grpc-timeout on the HTTP port): ${timeoutOverflows}`);
const bad = results.some((s) => s.hangs > 0 || s.noReason > 0 || s.healthOk !== s.healthRuns || s.internalErrors > 0) || crashes > 0 || timeoutOverflows > 0;
process.exit(bad ? 1 : 0);
