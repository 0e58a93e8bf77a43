import { fnv1a32 } from "../base/hash.js";
import type { GatewayOp } from "../ports/gateway.js";
import type { GatewayConfig, PromptVersionConfig } from "../config/schema-gateway.js";

/** The prompt version chosen for one request, with its failover chain of model keys. */
export interface PromptRoute {
  readonly op: GatewayOp;
  readonly version: string;
  /** `<op>@<version>`, recorded in every response. */
  readonly promptVersion: string;
  readonly prompt: PromptVersionConfig;
  /** Model keys to try in order: the version's model, then its fallbacks (deduplicated). */
  readonly chain: readonly string[];
}

/** Bucket in [0, 100) of a subject for an operation's A/B split (stable across processes). */
export function abBucket(op: string, subject: string): number {
  return fnv1a32(`${op}:${subject}`) % 100;
}

/**
 * Pick the prompt version of `op` for `subject` (a device id, report id...): the split's weights
 * are laid out over [0, 100) in key order and the subject's hash bucket falls into one of them.
 * Deterministic: the same device always sees the same version while the config is unchanged.
 */
export function selectPrompt(cfg: GatewayConfig, op: GatewayOp, subject: string): PromptRoute {
  const t = table(cfg, op);
  // One live version: no hashing needed (the common case, and the Score hot path).
  if (t.entries.length === 1) return t.routes.get(t.entries[0]![0])!;
  const point = (abBucket(op, subject) / 100) * t.total;
  let acc = 0;
  for (const [v, w] of t.entries) {
    acc += w;
    if (point < acc) return t.routes.get(v)!;
  }
  return t.routes.get(t.entries[t.entries.length - 1]![0])!;
}

interface SplitTable {
  readonly entries: ReadonlyArray<readonly [string, number]>;
  readonly total: number;
  readonly routes: ReadonlyMap<string, PromptRoute>;
}

// Routes are derived from an immutable config object, so they are memoised per config (weakly).
const tables = new WeakMap<GatewayConfig, Map<GatewayOp, SplitTable>>();

function table(cfg: GatewayConfig, op: GatewayOp): SplitTable {
  let perOp = tables.get(cfg);
  if (!perOp) tables.set(cfg, (perOp = new Map()));
  let t = perOp.get(op);
  if (t) return t;
  const p = cfg.prompts[op];
  const entries = Object.entries(p.split).filter(([, w]) => w > 0);
  const routes = new Map<string, PromptRoute>();
  for (const [version, prompt] of Object.entries(p.versions)) {
    const chain = [...new Set([prompt.model, ...prompt.fallback])];
    routes.set(version, Object.freeze({ op, version, promptVersion: `${op}@${version}`, prompt, chain }));
  }
  t = { entries, total: entries.reduce((s, [, w]) => s + w, 0), routes };
  perOp.set(op, t);
  return t;
}

/** Replace `{{name}}` placeholders with `vars[name]` (unknown names render as empty strings). */
export function renderTemplate(template: string, vars: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (_, name: string) => {
    const v = vars[name];
    return v === undefined ? "" : String(v);
  });
}

/** Format a number compactly for prompts (4 significant digits). */
export function fmt(n: number): string {
  return Number.isFinite(n) ? String(Number(n.toPrecision(4))) : String(n);
}
