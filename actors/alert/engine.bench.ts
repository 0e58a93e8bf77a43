/**
 * Micro-benchmark of the alert engine's hot path (AlertEngine.onReading), as the device actor calls
 * it once per applied reading. Prints ns per reading; not a test. Run: npx tsx actors/alert/engine.bench.ts
 */
import type { AlertRule, AlertTransition } from "../../src/domain/alerts.js";
import { AlertEngine } from "./engine.js";
import { DEFAULT_RULES, rule } from "./harness.js";
import type { DeviceAlerts } from "./state.js";

const N = Number(process.env.N ?? 20_000_000);
const REPS = 5;
const POOL = 1024;
const names = ["temp", "hum"];

/** A pool of readings (values, scores, best) with scores drawn by `score` (deterministic LCG). */
function pool(score: (i: number, r: number) => number) {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: POOL }, (_, i) => {
    const scores = [score(i, rnd()), score(i, rnd()) / 2];
    return { values: [20 + rnd() * 10, 40 + rnd() * 20], scores, best: Math.max(...scores) };
  });
}

interface Case {
  readonly name: string;
  readonly rules: readonly AlertRule[];
  /** The device's state before the measured readings (built with the same engine). */
  readonly setup: (e: AlertEngine, out: AlertTransition[]) => DeviceAlerts | undefined;
  readonly readings: ReturnType<typeof pool>;
}

const low = pool((_, r) => r * 0.85); // below the default raise level 0.9
const high = pool((i, r) => (i % 2 === 0 ? 0.95 : 0.6 + r * 0.25)); // raise-level or between the levels
const raiseOnce = (e: AlertEngine, out: AlertTransition[]) => e.onReading(undefined, "dev-1", 0, ["temp"], [1], [0.99], 0.99, out);

const cases: Case[] = [
  { name: "default rules, no alerts (state undefined)", rules: DEFAULT_RULES, setup: () => undefined, readings: low },
  { name: "default rules, 1 open alert", rules: DEFAULT_RULES, setup: raiseOnce, readings: high },
  {
    name: "default rules, after an alert (state kept, none open)",
    rules: DEFAULT_RULES,
    setup: (e, out) => {
      const st = e.onReading(raiseOnce(e, out), "dev-1", 1, ["temp"], [1], [0.1], 0.1, out);
      return e.onReading(st, "dev-1", 100_000, ["temp"], [1], [0.1], 0.1, out); // cleared after clearFor
    },
    readings: low,
  },
  { name: "score + threshold + no-data + offline, no alerts", rules: [...DEFAULT_RULES, rule.threshold({ raiseAt: 1e9, clearAt: 1e9 }), rule.noData({ afterMs: 1e12 })], setup: () => undefined, readings: low },
];

/** The loop alone: an engine whose onReading returns at once (what the rows above include besides the engine). */
class NoEngine extends AlertEngine {
  override onReading(st: DeviceAlerts | undefined): DeviceAlerts | undefined {
    return st;
  }
}

function measure(c: Case, engine = new AlertEngine(c.rules)): number {
  const out: AlertTransition[] = [];
  let best = Infinity;
  for (let rep = 0; rep < REPS; rep++) {
    const st0 = c.setup(engine, out);
    let st = st0;
    let kept = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) {
      const r = c.readings[i & (POOL - 1)]!;
      st = engine.onReading(st, "dev-1", 200_000 + i, names, r.values, r.scores, r.best, out);
      if (st !== undefined) kept++;
      if (out.length > 1000) out.length = 0;
    }
    const ns = Number(process.hrtime.bigint() - t0) / N;
    if (kept === -1) console.log("unreachable"); // keeps `kept` alive
    best = Math.min(best, ns);
  }
  return best;
}

console.log(`AlertEngine.onReading, ${N.toLocaleString("en")} readings x ${REPS} (best), node ${process.version}`);
console.log("| case | ns/reading |\n|---|---|");
for (const c of cases) console.log(`| ${c.name} | ${measure(c).toFixed(2)} |`);
// Last: a second class at the call site would slow the rows above.
console.log(`| (loop only: reading pool, call, bookkeeping) | ${measure(cases[0]!, new NoEngine([])).toFixed(2)} |`);
