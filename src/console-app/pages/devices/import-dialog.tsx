import { useMemo, useState } from "preact/hooks";
import type { CallError } from "../../api/errors.js";
import { Badge } from "../../components/bits.js";
import { ConfirmDialog } from "../../components/confirm-dialog.js";
import type { DeviceCsvRow } from "../../../registry/csv.js";
import { checkDeviceCsv } from "../../../registry/csv.js";
import type { ImportRowResult } from "./import-run.js";
import { importCounts } from "./import-run.js";

/** Largest file the dialog reads (ImportDevices takes 4 MiB per call; the file goes in chunks, but a browser tab should not hold more). */
const MAX_FILE_BYTES = 16 * 1024 * 1024;
/** Problems listed at most (the rest are counted). */
const MAX_SHOWN_PROBLEMS = 100;

/**
 * Import devices from CSV (header `id,type,labels`, labels `k=v;k=v`): a file chosen or text
 * pasted, checked here with the server's own rules (src/registry/csv.ts) so every bad row shows
 * with its line before anything is sent; Import is refused while any row is bad (the server would
 * refuse the file whole). The page sends it in chunks and shows the outcome and the passwords once.
 */
export function ImportDevicesDialog(props: { readonly onImport: (rows: readonly DeviceCsvRow[]) => Promise<boolean>; readonly onClose: () => void; readonly pending: boolean; readonly progress: { readonly done: number; readonly total: number } | undefined; readonly error: CallError | undefined }) {
  const [text, setText] = useState("");
  const [fileNote, setFileNote] = useState<string | undefined>(undefined);
  const [tried, setTried] = useState(false);
  const checked = useMemo(() => (text.trim() === "" ? undefined : checkDeviceCsv(text, MAX_SHOWN_PROBLEMS)), [text]);
  const rows = checked?.rows.length ?? 0;
  const problems = checked?.problems ?? [];
  const ready = checked !== undefined && problems.length === 0 && rows > 0;

  const readFile = async (file: File | undefined) => {
    if (file === undefined) return;
    if (file.size > MAX_FILE_BYTES) {
      setFileNote(`${file.name} is larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB: split it.`);
      return;
    }
    setFileNote(`Read ${file.name}.`);
    setText(await file.text());
  };

  return (
    <ConfirmDialog
      title="Import devices from CSV"
      confirmLabel={rows > 0 ? `Import ${rows} device${rows === 1 ? "" : "s"}` : "Import"}
      testid="device-import-dialog"
      pending={props.pending}
      error={props.error}
      onClose={props.onClose}
      onConfirm={async () => {
        setTried(true);
        return ready && checked !== undefined ? props.onImport(checked.rows) : false;
      }}
    >
      <p>
        One device per row under a header naming the columns <code>id,type,labels</code> (labels as <code>k=v;k=v</code>). Devices registered already are skipped; the new ones get passwords, shown once after the import.
      </p>
      <div class="field">
        <label for="device-import-file">CSV file</label>
        <input id="device-import-file" type="file" accept=".csv,text/csv,text/plain" data-testid="device-import-file" data-autofocus onChange={(e) => void readFile(e.currentTarget.files?.[0])} />
        {fileNote && <span class="muted">{fileNote}</span>}
      </div>
      <div class="field">
        <label for="device-import-text">…or paste it</label>
        <textarea id="device-import-text" class="input mono" rows={8} spellcheck={false} value={text} placeholder={"id,type,labels\nboiler-17,thermostat,site=berlin;floor=2"} data-testid="device-import-text" onInput={(e) => setText(e.currentTarget.value)} />
      </div>
      {checked !== undefined && problems.length === 0 && (
        <p class={rows > 0 ? "muted" : "warn-text"} role="status" data-testid="device-import-summary">
          {rows > 0 ? `${rows} device${rows === 1 ? "" : "s"} ready to import.` : "No devices in it: a header line and one row per device."}
        </p>
      )}
      {problems.length > 0 && (
        <div class="warn-text" role="alert" data-testid="device-import-problems">
          <p>
            {problems.length}
            {checked?.stopped ? "+" : ""} row{problems.length === 1 ? "" : "s"} to fix before importing ({rows} fine):
          </p>
          <ul>
            {problems.map((p) => (
              <li key={`${p.line}:${p.message}`} data-testid="device-import-problem" data-line={p.line}>
                line {p.line}: {p.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      {tried && checked === undefined && <p class="warn-text">Choose a file or paste the CSV first.</p>}
      {props.progress && (
        <p role="status" data-testid="device-import-progress">
          Sent {props.progress.done} of {props.progress.total}…
        </p>
      )}
    </ConfirmDialog>
  );
}

const TONE = { created: "ok", skipped: "neutral", failed: "bad", "not-sent": "warn" } as const;
const LABEL = { created: "created", skipped: "registered already", failed: "failed", "not-sent": "not sent" } as const;

/** What became of each row of the last import (the passwords are in SecretsOnce, not here). */
export function ImportResults({ results, onDismiss }: { readonly results: readonly ImportRowResult[]; readonly onDismiss: () => void }) {
  const n = importCounts(results);
  return (
    <section class="section" aria-label="Import result" data-testid="device-import-result">
      <div class="section-head">
        <h2>Import result</h2>
        <div class="section-tools">
          <button type="button" class="btn btn-small" onClick={onDismiss} data-testid="device-import-result-dismiss">
            Close
          </button>
        </div>
      </div>
      <p role="status" data-testid="device-import-counts">
        {n.created} created, {n.skipped} registered already, {n.failed} failed{n["not-sent"] > 0 ? `, ${n["not-sent"]} not sent (an earlier call failed: import the same file again to go on)` : ""}.
      </p>
      <div class="table-wrap">
        <table class="table">
          <caption class="visually-hidden">Rows of the imported file</caption>
          <thead>
            <tr>
              <th scope="col" class="num">
                Line
              </th>
              <th scope="col">Device</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {results.map((r) => (
              <tr key={r.line} data-testid="device-import-row" data-key={r.id}>
                <td class="num">{r.line}</td>
                <td>{r.id}</td>
                <td>
                  <Badge tone={TONE[r.outcome.kind]} testid="device-import-outcome">
                    {LABEL[r.outcome.kind]}
                  </Badge>
                  {r.outcome.kind === "failed" && <span class="muted"> {r.outcome.reason}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
