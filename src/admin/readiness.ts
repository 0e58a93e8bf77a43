import type { PartitionLag } from "../cluster/index.js";

/**
 * Single-node readiness: every partition `0..partitions-1` is owned and its durable consumer has
 * at most `maxLag` undelivered messages. Returns the reason when not ready (for logs), else "".
 * A partition whose lag could not be read (undefined) is not caught up.
 */
export function notCaughtUpReason(partitions: number, owned: readonly number[], lags: ReadonlyMap<number, PartitionLag | undefined>, maxLag: number): string {
  const have = new Set(owned);
  const missing = [];
  for (let p = 0; p < partitions; p++) if (!have.has(p)) missing.push(p);
  if (missing.length > 0) return `partitions not owned: ${missing.join(", ")}`;
  const behind = [];
  for (let p = 0; p < partitions; p++) {
    const lag = lags.get(p);
    if (lag === undefined) behind.push(`${p} (lag unknown)`);
    else if (lag.pending > maxLag) behind.push(`${p} (${lag.pending} pending)`);
  }
  return behind.length > 0 ? `partitions behind by more than ${maxLag} messages: ${behind.join(", ")}` : "";
}

/** A readiness value refreshed in the background. */
export interface ReadinessProbe {
  /** Last result (false until the first check resolved true). */
  ready(): boolean;
  /** Why it is not ready ("" when ready). */
  reason(): string;
  close(): void;
}

/**
 * Runs `check` now and every `intervalMs` (one at a time), keeping the last answer; `onChange`
 * hears every flip. A throwing check counts as not ready (reason: its message).
 */
export function startReadinessProbe(check: () => Promise<string> | string, intervalMs: number, onChange?: (ready: boolean, reason: string) => void): ReadinessProbe {
  let ready = false;
  let reason = "not checked yet";
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = async () => {
    let r: string;
    try {
      r = await check();
    } catch (e) {
      r = `readiness check failed: ${(e as Error).message}`;
    }
    if (closed) return;
    const next = r === "";
    reason = r;
    if (next !== ready) {
      ready = next;
      onChange?.(ready, reason);
    }
    timer = setTimeout(run, intervalMs);
    timer.unref();
  };
  void run();
  return {
    ready: () => ready,
    reason: () => reason,
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
