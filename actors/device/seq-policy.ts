import type { SeqPolicy } from "./sequence-tracker.js";
import type { DeviceSettings, SeqWrapRule } from "./device.messages.js";

/** The sequence policy of each device, from the settings (wrap rules matched by device id). */
export interface SeqPolicies {
  of(deviceId: string): SeqPolicy;
}

const WIDTHS = new Set([8, 16, 32]);

/** Policies of `settings`; throws a RangeError naming a bad wrap rule. */
export function createSeqPolicies(settings: Pick<DeviceSettings, "maxGaps" | "maxSeqJump" | "jumpConfirmations" | "seqWrap">): SeqPolicies {
  const base: SeqPolicy = { maxGaps: settings.maxGaps, maxJump: settings.maxSeqJump, jumpConfirmations: settings.jumpConfirmations, wrapBits: 0 };
  const rules = settings.seqWrap.map((r, i) => compile(r, i, base));
  if (rules.length === 0) return { of: () => base };
  return {
    of(deviceId) {
      for (const r of rules) if (r.re.test(deviceId)) return r.policy;
      return base;
    },
  };
}

function compile(r: SeqWrapRule, i: number, base: SeqPolicy): { re: RegExp; policy: SeqPolicy } {
  if (typeof r?.match !== "string" || r.match === "") throw new RangeError(`device settings: seqWrap[${i}].match must be a non-empty glob, got ${JSON.stringify(r?.match)}`);
  if (!WIDTHS.has(r.bits)) throw new RangeError(`device settings: seqWrap[${i}].bits must be 8, 16 or 32, got ${JSON.stringify(r.bits)}`);
  const re = new RegExp(`^${r.match.split("*").map(escape).join(".*")}$`);
  // The reorder window of a wrapping counter stays below its range (timestamps tell the cycle).
  const maxGaps = Math.min(base.maxGaps, 2 ** r.bits - 1);
  return { re, policy: { ...base, maxGaps, wrapBits: r.bits } };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
