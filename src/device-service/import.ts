import { Code, ConnectError } from "@connectrpc/connect";
import { isRetryable, ShoalError } from "../base/errors.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Clock } from "../ports/clock.js";
import type { BrokerAccounts, DeviceRegistry } from "../ports/device-registry.js";
import type { ImportDevicesResponseSchema } from "../gen/shoal/v1/device_pb.js";
import { parseDeviceCsv, type DeviceCsvRow } from "../registry/csv.js";
import { credentialsOf } from "./convert.js";
import { mintPassword, registryCode, toBroker } from "./steps.js";
import { invalid } from "./validate.js";

/** Devices created at once while importing (password hashing runs on libuv's thread pool). */
const PARALLEL = 4;

/** What an import needs. */
export interface ImportDeps {
  readonly registry: DeviceRegistry;
  readonly broker: BrokerAccounts | undefined;
  readonly secretKey: Buffer | undefined;
  readonly clock: Clock;
}

/**
 * ImportDevices: every row of `csv` is parsed and validated before anything is written (one bad
 * row, or an id twice, is INVALID_ARGUMENT naming its line, and nothing is created); ids the
 * registry has already are skipped (reported, no credentials); the others are created enabled with
 * fresh passwords, each written to the broker right after the registry. A broker (or store)
 * failure stops the import (rows not yet started are not created) and fails UNAVAILABLE naming
 * the devices created by this call: their passwords are not returned, so they need a rotation.
 * `signal` aborted (the call's deadline): no more rows are started, DEADLINE_EXCEEDED naming them
 * likewise. Each new device costs a scrypt hash, so a call should carry tens of rows, not
 * thousands (`shoal devices import` sends 20 per call).
 */
export async function importDevices(csv: string, by: string, d: ImportDeps, signal: AbortSignal): Promise<MessageInitShape<typeof ImportDevicesResponseSchema>> {
  const rows = validRows(csv);
  const existing = new Set((await d.registry.list()).map((r) => r.id));
  const results: Array<{ id: string; credentials?: ReturnType<typeof credentialsOf>; skipped: boolean }> = rows.map((r) => ({ id: r.id, skipped: true }));
  const todo = rows.map((r, i) => ({ r, i })).filter(({ r }) => !existing.has(r.id));
  let next = 0;
  const createdIds: string[] = [];
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next < todo.length && !signal.aborted) {
      const { r, i } = todo[next++]!;
      try {
        const pw = await mintPassword(d.secretKey);
        const now = d.clock.now();
        try {
          await d.registry.create({ id: r.id, type: r.type, labels: r.labels, enabled: true, createdAtMs: now, updatedAtMs: now, credentialsRotatedAtMs: now, updatedBy: by, passwordHash: pw.passwordHash, sealedPassword: pw.sealedPassword });
        } catch (e) {
          if (registryCode(e) === "already_exists") continue; // created meanwhile by someone else: skipped
          throw e;
        }
        createdIds.push(r.id);
        await toBroker(d.broker, `device ${r.id} (line ${r.line}) is registered but the broker could not store its account`, pw.password, (b) => b.putDevice(r.id, pw.password, true, now));
        results[i] = { id: r.id, credentials: credentialsOf(r.id, pw.password), skipped: false };
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, todo.length) }, worker));
  const created = createdIds.length;
  const lost = () => `${created} device(s) created, whose passwords are not returned (rotate them, or delete and import again): ${createdIds.slice(0, 20).join(", ")}${created > 20 ? ", ..." : ""}`;
  if (failure !== undefined) {
    if (created > 0 && failure instanceof ConnectError) throw new ConnectError(`import stopped; ${lost()}; ${failure.rawMessage}`, failure.code);
    if (created > 0 && isRetryable(failure) && failure instanceof ShoalError) throw new ConnectError(`import stopped; ${lost()}; unavailable, retry: ${failure.message.slice(0, 200)}`, Code.Unavailable);
    throw failure;
  }
  if (signal.aborted) throw new ConnectError(`import interrupted by the call's deadline; ${lost()}`, Code.DeadlineExceeded);
  return { devices: results, created, skipped: results.length - created };
}

/** The rows of `csv` (parsed and checked as CreateDevice checks: src/registry/csv.ts); INVALID_ARGUMENT `csv: line N: ...` at the first bad one. */
function validRows(csv: string): DeviceCsvRow[] {
  const parsed = parseDeviceCsv(csv);
  if (!parsed.ok) throw invalid("csv", `line ${parsed.line}: ${parsed.message}`);
  if (parsed.rows.length === 0) throw invalid("csv", "no devices (a header line id,type,labels and one row per device)");
  return parsed.rows;
}
