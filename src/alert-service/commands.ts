import { Code, ConnectError } from "@connectrpc/connect";
import { sleep } from "../base/clock.js";
import type { AlertCommand } from "../domain/alerts.js";
import type { AlertReadModel, AlertRow } from "../ports/alert-read-model.js";
import type { AlertCommandSink } from "../ports/alerts.js";
import type { Clock } from "../ports/clock.js";

/** What an acknowledge or resolve came to. */
export interface CommandOutcome {
  /** The alert after the command when applied, else as it was. */
  readonly alert: AlertRow;
  readonly accepted: boolean;
  readonly applied: boolean;
}

export interface CommandRunnerDeps {
  readonly readModel: AlertReadModel;
  readonly commands: AlertCommandSink;
  readonly clock: Clock;
  /** Longest wait for the transition after the command is durable, ms. */
  readonly waitMs: number;
  /** Read model polls while waiting, ms apart. */
  readonly pollMs: number;
  readonly newId: () => string;
}

/** Time kept back from the call's deadline to answer "accepted" before it passes. */
const DEADLINE_MARGIN_MS = 250;

/**
 * Acknowledge and resolve: check the alert in the read model, journal the command (durable when
 * the sink resolves), then poll the read model until the alert shows it or the wait is over. An
 * alert already acknowledged is acknowledged again at no cost (nothing journaled); a resolved one
 * refuses both (FAILED_PRECONDITION).
 */
export function createCommandRunner(d: CommandRunnerDeps) {
  const shows = (op: AlertCommand["op"], before: AlertRow, now: AlertRow) =>
    now.version > before.version && (op === "resolve" ? now.state === "resolved" : now.state === "acknowledged" || now.state === "resolved");

  /** The alert once it shows the command, or undefined when the wait ends first (or polling fails: the command stands). */
  const waitApplied = async (op: AlertCommand["op"], before: AlertRow, budgetMs: number, signal: AbortSignal): Promise<AlertRow | undefined> => {
    const until = d.clock.now() + budgetMs;
    for (;;) {
      const left = until - d.clock.now();
      if (left <= 0 || signal.aborted) return undefined;
      await sleep(Math.min(d.pollMs, left), d.clock);
      if (signal.aborted) return undefined;
      let now: AlertRow | undefined;
      try {
        now = await d.readModel.getAlert(before.alertId, signal);
      } catch {
        now = undefined; // the store is down a moment: the command is durable, keep waiting
      }
      if (now !== undefined && shows(op, before, now)) return now;
    }
  };

  return async function run(op: AlertCommand["op"], alertId: string, by: string, reason: string, signal: AbortSignal, callTimeoutMs: number | undefined): Promise<CommandOutcome> {
    const before = await d.readModel.getAlert(alertId, signal);
    if (before === undefined) throw new ConnectError(`alert ${alertId}: not found`, Code.NotFound);
    if (before.state === "resolved") throw new ConnectError(`alert ${alertId} is resolved (final)`, Code.FailedPrecondition);
    if (op === "acknowledge" && before.state === "acknowledged") return { alert: before, accepted: true, applied: true };
    const cmd: AlertCommand = { type: "alert-command", op, alertId, deviceId: before.deviceId, by, reason, commandId: d.newId(), atMs: d.clock.now() };
    await d.commands.submit(cmd);
    const budget = Math.min(d.waitMs, callTimeoutMs === undefined ? Infinity : callTimeoutMs - DEADLINE_MARGIN_MS);
    const after = budget > 0 ? await waitApplied(op, before, budget, signal) : undefined;
    return after === undefined ? { alert: before, accepted: true, applied: false } : { alert: after, accepted: true, applied: true };
  };
}
