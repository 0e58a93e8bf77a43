/**
 * Hash routes of the console (docs/adr/0018-console.md, decision 2): the URL says where you are, so
 * a link opens the same view and Back works. Pure: `parseHash(formatRoute(r))` gives `r` back.
 *
 *   #/fleet?prefix=dev-1
 *   #/device/<id>?from=<ms>&to=<ms>&at=<ms>&metric=<name>
 *   #/alerts?state=open,acknowledged&device=<id>&severity=warning
 *   #/cluster
 *   #/config?filter=<text>&key=<path>
 *   #/search?q=<text>&kind=explanation,report&device=<id>
 *   #/devices?prefix=<id>&type=<t>&label=<k=v,k=v>&enabled=enabled|disabled
 *   #/commands?device=<id>&status=pending,failed&command=<command id>
 *   #/audit?actor=<name>&action=<prefix>&target=<prefix>
 */

import type { CommandStatusFilter, EnabledFilter } from "./registry-model.js";
import { COMMAND_STATUS_FILTERS, ENABLED_FILTERS } from "./registry-model.js";

/** Alert states as the URL spells them (open = firing, nobody acknowledged it yet). */
export const ALERT_STATE_NAMES = ["open", "acknowledged", "resolved"] as const;
export type AlertStateName = (typeof ALERT_STATE_NAMES)[number];

export const SEVERITY_NAMES = ["info", "warning", "critical"] as const;
export type SeverityName = (typeof SEVERITY_NAMES)[number];

export const TEXT_KINDS = ["explanation", "report", "log"] as const;
export type TextKind = (typeof TEXT_KINDS)[number];

export type Route =
  | { readonly page: "fleet"; readonly prefix: string }
  | {
      readonly page: "device";
      readonly id: string;
      /** History range [fromMs, toMs); both undefined: live. */
      readonly fromMs?: number;
      readonly toMs?: number;
      /** The selected anomaly: its time and metric. */
      readonly atMs?: number;
      readonly metric?: string;
    }
  | { readonly page: "alerts"; readonly states: readonly AlertStateName[]; readonly device: string; readonly severity?: SeverityName }
  | { readonly page: "cluster" }
  | { readonly page: "config"; readonly filter: string; readonly key?: string }
  | { readonly page: "search"; readonly q: string; readonly kinds: readonly TextKind[]; readonly device: string }
  | { readonly page: "devices"; readonly prefix: string; readonly type: string; readonly label: string; readonly enabled: EnabledFilter }
  | { readonly page: "commands"; readonly device: string; readonly command: string; readonly statuses?: readonly CommandStatusFilter[] }
  | { readonly page: "audit"; readonly actor: string; readonly action: string; readonly target: string }
  | { readonly page: "not-found"; readonly path: string };

export type PageName = Route["page"];

/** Where `#` and `#/` lead. */
export const HOME: Route = { page: "fleet", prefix: "" };

/** The alert states shown when the URL names none: the open ones (firing or acknowledged). */
export const DEFAULT_ALERT_STATES: readonly AlertStateName[] = ["open", "acknowledged"];

const int = (s: string | null): number | undefined => {
  if (s === null || !/^-?\d{1,16}$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
};

/** The members of `allowed` named in a comma list, in `allowed`'s order, without repeats. */
function pickList<T extends string>(raw: string | null, allowed: readonly T[]): T[] {
  if (raw === null) return [];
  const named = new Set(raw.split(",").map((s) => s.trim().toLowerCase()));
  return allowed.filter((a) => named.has(a));
}

const safeDecode = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** The route of a location hash ("#/device/d-1?from=1" or "" ). Unknown paths give `not-found`. */
export function parseHash(hash: string): Route {
  const raw = hash.startsWith("#") ? hash.slice(1) : hash;
  const q = raw.indexOf("?");
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
  const parts = path.split("/").filter((p) => p !== "");
  const head = parts[0] ?? "";
  const get = (k: string) => params.get(k) ?? "";
  switch (head) {
    case "":
      return HOME;
    case "fleet":
      if (parts.length === 1) return { page: "fleet", prefix: get("prefix") };
      break;
    case "device": {
      if (parts.length !== 2) break;
      const id = safeDecode(parts[1]!);
      const fromMs = int(params.get("from"));
      const toMs = int(params.get("to"));
      const atMs = int(params.get("at"));
      const metric = params.get("metric") ?? undefined;
      const ranged = fromMs !== undefined && toMs !== undefined && fromMs < toMs;
      return {
        page: "device",
        id,
        ...(ranged ? { fromMs, toMs } : {}),
        ...(atMs !== undefined ? { atMs } : {}),
        ...(metric ? { metric } : {}),
      };
    }
    case "alerts": {
      if (parts.length !== 1) break;
      const stateParam = params.get("state");
      const states = stateParam === "all" ? [...ALERT_STATE_NAMES] : pickList(stateParam, ALERT_STATE_NAMES);
      const severity = pickList(params.get("severity"), SEVERITY_NAMES)[0];
      return { page: "alerts", states: states.length > 0 ? states : DEFAULT_ALERT_STATES, device: get("device"), ...(severity ? { severity } : {}) };
    }
    case "cluster":
      if (parts.length === 1) return { page: "cluster" };
      break;
    case "config": {
      if (parts.length !== 1) break;
      const key = params.get("key");
      return { page: "config", filter: get("filter"), ...(key ? { key } : {}) };
    }
    case "search":
      if (parts.length === 1) return { page: "search", q: get("q"), kinds: pickList(params.get("kind"), TEXT_KINDS), device: get("device") };
      break;
    case "devices":
      if (parts.length === 1) return { page: "devices", prefix: get("prefix"), type: get("type"), label: get("label"), enabled: pickList(params.get("enabled"), ENABLED_FILTERS)[0] ?? "any" };
      break;
    case "commands":
      if (parts.length === 1) {
        const statuses = pickList(params.get("status"), COMMAND_STATUS_FILTERS);
        return { page: "commands", device: get("device"), command: get("command"), ...(statuses.length > 0 ? { statuses } : {}) };
      }
      break;
    case "audit":
      if (parts.length === 1) return { page: "audit", actor: get("actor"), action: get("action"), target: get("target") };
      break;
  }
  return { page: "not-found", path: "/" + parts.join("/") };
}

function withQuery(path: string, entries: ReadonlyArray<readonly [string, string | number | undefined]>): string {
  const params = new URLSearchParams();
  for (const [k, v] of entries) if (v !== undefined && v !== "") params.set(k, String(v));
  const qs = params.toString();
  return `#${path}${qs ? `?${qs}` : ""}`;
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

/** The location hash of `route` (with the leading "#"); defaults are left out to keep links short. */
export function formatRoute(route: Route): string {
  switch (route.page) {
    case "fleet":
      return withQuery("/fleet", [["prefix", route.prefix]]);
    case "device":
      return withQuery(`/device/${encodeURIComponent(route.id)}`, [
        ["from", route.fromMs],
        ["to", route.toMs],
        ["at", route.atMs],
        ["metric", route.metric],
      ]);
    case "alerts": {
      const states = sameSet(route.states, DEFAULT_ALERT_STATES) ? undefined : sameSet(route.states, ALERT_STATE_NAMES) ? "all" : ALERT_STATE_NAMES.filter((s) => route.states.includes(s)).join(",");
      return withQuery("/alerts", [
        ["state", states],
        ["device", route.device],
        ["severity", route.severity],
      ]);
    }
    case "cluster":
      return "#/cluster";
    case "config":
      return withQuery("/config", [
        ["filter", route.filter],
        ["key", route.key],
      ]);
    case "search":
      return withQuery("/search", [
        ["q", route.q],
        ["kind", TEXT_KINDS.filter((k) => route.kinds.includes(k)).join(",")],
        ["device", route.device],
      ]);
    case "devices":
      return withQuery("/devices", [
        ["prefix", route.prefix],
        ["type", route.type],
        ["label", route.label],
        ["enabled", route.enabled === "any" ? undefined : route.enabled],
      ]);
    case "commands":
      return withQuery("/commands", [
        ["device", route.device],
        ["status", COMMAND_STATUS_FILTERS.filter((s) => route.statuses?.includes(s)).join(",")],
        ["command", route.command],
      ]);
    case "audit":
      return withQuery("/audit", [
        ["actor", route.actor],
        ["action", route.action],
        ["target", route.target],
      ]);
    case "not-found":
      return `#${route.path}`;
  }
}

/** Shorthand for links: the hash of a device page, optionally on a history range. */
export function deviceHref(id: string, range?: { fromMs: number; toMs: number }, anomaly?: { atMs: number; metric: string }): string {
  return formatRoute({ page: "device", id, ...(range ?? {}), ...(anomaly ? { atMs: anomaly.atMs, metric: anomaly.metric } : {}) });
}
