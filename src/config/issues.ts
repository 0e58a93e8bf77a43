import type { z } from "zod";
import type { ConfigIssue } from "./errors.js";
import { typeName } from "./schema.js";

/**
 * Turns zod issues into exact, value-free rules. Only duration and size messages quote the
 * offending value (they are never secrets); nothing else echoes input.
 */
export function toConfigIssues(issues: readonly z.core.$ZodIssue[], sourceOf: (path: string) => string | undefined): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const iss of issues) {
    const path = formatPath(iss.path);
    if (iss.code === "unrecognized_keys") {
      for (const k of iss.keys) {
        const keyPath = path === "(root)" ? k : `${path}.${k}`;
        out.push(withSource({ path, rule: `unknown key "${k}"` }, sourceOf(keyPath)));
      }
      continue;
    }
    out.push(withSource({ path, rule: ruleOf(iss) }, sourceOf(path)));
  }
  return out;
}

function withSource(issue: { path: string; rule: string }, source: string | undefined): ConfigIssue {
  return source ? { ...issue, source } : issue;
}

/** `["nats","partitions"]` -> `nats.partitions`; array indexes as `[i]`; empty -> `(root)`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let s = "";
  for (const p of path) {
    if (typeof p === "number") s += `[${p}]`;
    else s += s ? `.${String(p)}` : String(p);
  }
  return s || "(root)";
}

function ruleOf(iss: z.core.$ZodIssue): string {
  const input = (iss as { input?: unknown }).input;
  switch (iss.code) {
    case "invalid_type":
      if (input === undefined) return "required";
      if (iss.expected === "int") return "must be an integer";
      return `expected ${iss.expected === "object" ? "a mapping" : iss.expected}, got ${typeName(input)}`;
    case "too_small":
      if (iss.origin === "string") return Number(iss.minimum) === 1 ? "must not be empty" : `must be at least ${iss.minimum} characters`;
      return `must be ${iss.inclusive ? ">=" : ">"} ${iss.minimum}`;
    case "too_big":
      if (iss.origin === "string") return `must be at most ${iss.maximum} characters`;
      return `must be ${iss.inclusive ? "<=" : "<"} ${iss.maximum}`;
    case "invalid_value":
      return `must be one of ${iss.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_format":
      return iss.format === "regex" ? iss.message : `must be a valid ${iss.format}`;
    case "invalid_union":
      return "does not match any allowed form";
    default:
      return iss.message;
  }
}
