/**
 * Ingest fuzzing (issue 17): N generated payloads and topics (default 10^6) through the bridge's
 * topic check, the broker ACL of a device's topic, the codec (src/domain/reading-codec.ts) and the
 * whole bridge core, checked against the input contract (test/fuzz/ingest/oracle.ts). Prints a
 * table per generator and exits 1 on any violation (its examples are printed with what reproduces
 * them).
 *
 *   npx tsx test/fuzz/ingest.fuzz.ts [N] [seed]        (npm run fuzz:ingest -- [N] [seed])
 */
import { runIngest, type GeneratorStats } from "./ingest/run.js";

const n = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? 17);
if (!Number.isSafeInteger(n) || n <= 0 || !Number.isSafeInteger(seed)) {
  console.error("usage: tsx test/fuzz/ingest.fuzz.ts [N > 0] [seed]");
  process.exit(2);
}

let uncaught = 0;
process.on("uncaughtException", (e) => {
  uncaught++;
  console.error("uncaught exception:", e);
});
process.on("unhandledRejection", (e) => {
  uncaught++;
  console.error("unhandled rejection:", e);
});

let last = 0;
const run = await runIngest({
  n,
  seed,
  onChunk: (done) => {
    if (done - last >= 100_000 || done === n) {
      last = done;
      process.stderr.write(`  ${done.toLocaleString("en-US")} inputs\n`);
    }
  },
});

const fmt = (x: number) => x.toLocaleString("en-US");
const pad = (s: string, w: number) => (s.length >= w ? s : s + " ".repeat(w - s.length));
const lpad = (s: string, w: number) => (s.length >= w ? s : " ".repeat(w - s.length) + s);

console.log(`\ningest fuzzing: ${fmt(n)} inputs, seed ${seed}, ${(run.elapsedMs / 1000).toFixed(1)} s, ${fmt(Math.round(n / (run.elapsedMs / 1000)))} inputs/s (codec + oracle + ACL + bridge core)\n`);
const cols = ["generator", "inputs", "accepted", "readings", "rejected", "ACL checks", "ACL allowed", "stricter", "violations", "crashes"];
const widths = [24, 10, 10, 10, 10, 11, 12, 9, 11, 8];
const row = (cells: string[]) => console.log(cells.map((c, i) => (i === 0 ? pad(c, widths[i]!) : lpad(c, widths[i]!))).join(" "));
row(cols);
const total: GeneratorStats = { inputs: 0, accepted: 0, acceptedReadings: 0, rejected: 0, byCode: {}, maxReasonLength: 0, aclChecks: 0, aclAllowed: 0, stricter: 0, violations: 0, crashes: 0 };
for (const [name, s] of run.byGenerator) {
  row([name, fmt(s.inputs), fmt(s.accepted), fmt(s.acceptedReadings), fmt(s.rejected), fmt(s.aclChecks), fmt(s.aclAllowed), fmt(s.stricter), fmt(s.violations), fmt(s.crashes)]);
  for (const k of ["inputs", "accepted", "acceptedReadings", "rejected", "aclChecks", "aclAllowed", "stricter", "violations", "crashes"] as const) total[k] += s[k];
  for (const [code, c] of Object.entries(s.byCode)) total.byCode[code] = (total.byCode[code] ?? 0) + c;
  total.maxReasonLength = Math.max(total.maxReasonLength, s.maxReasonLength);
}
row(["total", fmt(total.inputs), fmt(total.accepted), fmt(total.acceptedReadings), fmt(total.rejected), fmt(total.aclChecks), fmt(total.aclAllowed), fmt(total.stricter), fmt(total.violations), fmt(total.crashes + uncaught)]);

console.log("\nrejected by code (codec, per generator; bridge core incl. admission)");
const gens = [...run.byGenerator.keys()];
const codes = [...new Set([...Object.keys(total.byCode), ...Object.keys(run.bridge.rejectedByCode)])].sort();
console.log([pad("code", 20), ...gens.map((g) => lpad(g.split(" ")[0]!, 10)), lpad("codec", 10), lpad("bridge", 10)].join(" "));
for (const code of codes) {
  console.log([pad(code, 20), ...gens.map((g) => lpad(fmt(run.byGenerator.get(g)!.byCode[code] ?? 0), 10)), lpad(fmt(total.byCode[code] ?? 0), 10), lpad(fmt(run.bridge.rejectedByCode[code] ?? 0), 10)].join(" "));
}
console.log(`longest rejection reason: ${fmt(total.maxReasonLength)} characters`);

const b = run.bridge;
console.log(`\nbridge core: ${fmt(b.messages)} messages, ${fmt(b.acked)} acknowledged exactly once, ${fmt(b.deadLetters)} dead-lettered with a code and reason, ${fmt(b.journalReadings)} readings journaled, ${fmt(b.violations)} violations`);
console.log(`crashes (throws, uncaught exceptions, unhandled rejections): ${fmt(total.crashes + uncaught)}`);

if (run.examples.length > 0) {
  console.log(`\nviolations (first ${run.examples.length}):`);
  for (const e of run.examples) console.log(`  ${e}`);
}
process.exit(total.violations + b.violations + uncaught > 0 ? 1 : 0);
