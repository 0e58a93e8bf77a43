import type { EnvelopeSink } from "../ports/actor-host.js";
import type { Reading } from "../ports/reading.js";
import { decodeJournalReadings } from "./reading-codec.js";
import { decodeJournalCommand, isJournalCommand } from "./journal-commands.js";

/**
 * The device actors' messages of one journal message (a batch of readings written by the bridge,
 * or a single reading of an older journal): one `reading` message per device, or one `readings`
 * message when the journal message holds several readings of that device (in journal order), so
 * each actor takes a journal message in one turn; or the operator's alert command it holds. Shared by the ingest loop and journal replay
 * (recovery), so both decode exactly alike. Throws on corrupt bytes.
 */
export function journalEnvelope(data: Uint8Array, streamSeq: number, _partition: number, start: number, end: number, emit: EnvelopeSink): void {
  if (isJournalCommand(data, start, end)) {
    // An operator's alert command (src/domain/journal-commands.ts) for the actor holding the alert.
    const cmd = decodeJournalCommand(data, start, end);
    emit("device", cmd.deviceId, cmd);
    return;
  }
  const readings = decodeJournalReadings(data, start, end);
  if (distinctDevices(readings)) {
    // The common cases (a single reading; a batch holding one reading of each of a partition's busy
    // devices): one message per reading, in journal order, without grouping.
    for (const reading of readings) {
      const msg: DeviceJournalMsg = reading.trace === undefined ? { type: "reading", reading, streamSeq } : { type: "reading", reading, streamSeq, trace: reading.trace };
      emit("device", reading.deviceId, msg);
    }
    return;
  }
  const byDevice = new Map<string, Reading[]>();
  let traced = false;
  for (const r of readings) {
    if (r.trace !== undefined) traced = true;
    const list = byDevice.get(r.deviceId);
    if (list === undefined) byDevice.set(r.deviceId, [r]);
    else list.push(r);
  }
  for (const [deviceId, list] of byDevice) {
    const msg: DeviceJournalMsg = list.length === 1 ? { type: "reading", reading: list[0]!, streamSeq } : { type: "readings", readings: list, streamSeq };
    const trace = traced ? traceOf(list) : undefined;
    emit("device", deviceId, trace === undefined ? msg : { ...msg, trace });
  }
}

/** Whether no two of `readings` are of one device (pairwise up to 32 readings, a Set above). */
function distinctDevices(readings: readonly Reading[]): boolean {
  const n = readings.length;
  if (n > 32) return new Set(readings.map((r) => r.deviceId)).size === n;
  for (let i = 1; i < n; i++) {
    const id = readings[i]!.deviceId;
    for (let j = 0; j < i; j++) if (readings[j]!.deviceId === id) return false;
  }
  return true;
}

/** The first trace context among `readings` (a turn joins one trace; docs/adr/0023-tracing.md). */
function traceOf(readings: readonly Reading[]): string | undefined {
  for (const r of readings) if (r.trace !== undefined) return r.trace;
  return undefined;
}

/**
 * What the journal holds for a device actor (its `reading` and `readings` messages); `trace` (the
 * runtime's traced-turn convention, src/ports/actor.ts) when one of its readings is traced.
 */
type DeviceJournalMsg =
  | { readonly type: "reading"; readonly reading: Reading; readonly streamSeq: number; readonly trace?: string }
  | { readonly type: "readings"; readonly readings: readonly Reading[]; readonly streamSeq: number; readonly trace?: string };
