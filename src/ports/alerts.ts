/** An operator's command to the actor holding an alert (travels through the device's journal partition). */
export interface AlertCommand {
  readonly type: "alert-command";
  readonly op: "acknowledge" | "resolve";
  readonly alertId: string;
  readonly deviceId: string;
  readonly by: string;
  readonly reason: string;
  /** Unique per command (the journal de-duplicates a retried publish on it). */
  readonly commandId: string;
  /** When the operator asked, ms since the epoch (the transition's time). */
  readonly atMs: number;
}

/**
 * Where operator commands for alerts go: the journal partition of the alert's device, so the device
 * actor applies them in order with its readings, exactly once, and a crash replays them
 * (src/adapters/nats/command-journal.ts). Resolves once the command is durable.
 */
export interface AlertCommandSink {
  submit(cmd: AlertCommand): Promise<void>;
}

/** A silence: transitions of matching alerts are stored but not notified until `untilMs`. */
export interface Silence {
  readonly id: string;
  /** Only this device's alerts ("" or absent: every device). */
  readonly deviceId?: string;
  /** Only this rule's alerts ("" or absent: every rule). At least one of deviceId and rule is set. */
  readonly rule?: string;
  readonly untilMs: number;
  readonly createdAtMs: number;
  readonly by: string;
  readonly reason: string;
}

/** Silences, shared by the AlertService (writes) and the notifier (reads, live). */
export interface SilenceStore {
  put(s: Silence): Promise<void>;
  /** Removes a silence; false when there was none with that id. */
  remove(id: string): Promise<boolean>;
  /** Every silence still stored (expired ones may linger until swept; callers compare `untilMs`). */
  list(): Promise<readonly Silence[]>;
}

/** True when `s` is active at `nowMs` and matches the alert of `deviceId` and `rule`. */
export function silenceMatches(s: Silence, deviceId: string, rule: string, nowMs: number): boolean {
  if (nowMs >= s.untilMs) return false;
  if (s.deviceId && s.deviceId !== deviceId) return false;
  if (s.rule && s.rule !== rule) return false;
  return Boolean(s.deviceId || s.rule);
}
