import type { DeviceCsvRow } from "../../../registry/csv.js";
import { csvField, formatDeviceCsv, IMPORT_CHUNK_ROWS } from "../../../registry/csv.js";

/**
 * The console's CSV import (DeviceService.ImportDevices) after the file passed the browser's check
 * (src/registry/csv.ts, the server's own rules): rows go in calls of IMPORT_CHUNK_ROWS, as
 * `shoal devices import` sends them, so each call ends well within the server's timeout and a
 * failure part way loses little. The first failed call stops the import (its rows are "failed"
 * with the server's reason, the rows after it "not sent"); running the same file again goes on
 * (registered ids are skipped). Pure: the call is passed in.
 */

/** What became of one row. */
export type ImportOutcome =
  /** Registered now; the password is in this answer only. */
  | { readonly kind: "created"; readonly password: string }
  /** The id was registered already: left as it is, no password. */
  | { readonly kind: "skipped" }
  /** Its call failed (nothing of it can be assumed created: see the reason). */
  | { readonly kind: "failed"; readonly reason: string }
  /** Not sent: an earlier call failed. */
  | { readonly kind: "not-sent" };

/** One row of the file and what became of it. */
export interface ImportRowResult {
  readonly line: number;
  readonly id: string;
  readonly outcome: ImportOutcome;
}

/** The answer of one ImportDevices call, as much of it as the import reads. */
export interface ImportAnswer {
  readonly devices: ReadonlyArray<{ readonly id: string; readonly skipped: boolean; readonly credentials?: { readonly password: string } | undefined }>;
}

/**
 * Import `rows` in chunks through `call` (one ImportDevices call per chunk of CSV text); `onProgress`
 * hears how many rows are done after each call. Never throws: a failure is in the results.
 */
export async function importInChunks(
  rows: readonly DeviceCsvRow[],
  call: (csv: string) => Promise<ImportAnswer>,
  errorText: (e: unknown) => string,
  onProgress: (done: number) => void = () => {},
  chunkRows = IMPORT_CHUNK_ROWS,
): Promise<ImportRowResult[]> {
  const results: ImportRowResult[] = [];
  for (let i = 0; i < rows.length; i += chunkRows) {
    const chunk = rows.slice(i, i + chunkRows);
    let answer: ImportAnswer;
    try {
      answer = await call(formatDeviceCsv(chunk));
    } catch (e) {
      const reason = errorText(e);
      results.push(...chunk.map((r) => ({ line: r.line, id: r.id, outcome: { kind: "failed", reason } as const })));
      results.push(...rows.slice(i + chunkRows).map((r) => ({ line: r.line, id: r.id, outcome: { kind: "not-sent" } as const })));
      return results;
    }
    const byId = new Map(answer.devices.map((d) => [d.id, d]));
    for (const r of chunk) {
      const d = byId.get(r.id);
      const outcome: ImportOutcome =
        d === undefined ? { kind: "failed", reason: "not in the server's answer" } : d.skipped ? { kind: "skipped" } : d.credentials?.password ? { kind: "created", password: d.credentials.password } : { kind: "failed", reason: "created without credentials in the answer: rotate its credentials" };
      results.push({ line: r.line, id: r.id, outcome });
    }
    onProgress(Math.min(rows.length, i + chunkRows));
  }
  return results;
}

/** The created devices' credentials as CSV (id,username,password: the device id is its MQTT username), as `shoal devices import` writes them. */
export function credentialsCsv(results: readonly ImportRowResult[]): string {
  const lines = results.flatMap((r) => (r.outcome.kind === "created" ? [`${csvField(r.id)},${csvField(r.id)},${csvField(r.outcome.password)}\n`] : []));
  return `id,username,password\n${lines.join("")}`;
}

/** Counts of each outcome. */
export function importCounts(results: readonly ImportRowResult[]): Record<ImportOutcome["kind"], number> {
  const n = { created: 0, skipped: 0, failed: 0, "not-sent": 0 };
  for (const r of results) n[r.outcome.kind]++;
  return n;
}
