import { useEffect, useRef, useState } from "preact/hooks";
import type { Silence } from "../../../gen/shoal/v1/alert_pb.js";
import { useApp } from "../../app-context.js";
import { ActionButton } from "../../components/action-button.js";
import { Badge, Section, Time } from "../../components/bits.js";
import { ConfirmDialog } from "../../components/confirm-dialog.js";
import type { Column } from "../../components/data-table.js";
import { DataTable } from "../../components/data-table.js";
import { ErrorBanner } from "../../components/error-banner.js";
import { useAction, useCall } from "../../hooks/use-call.js";
import { useNow } from "../../hooks/use-timing.js";
import { formatDuration } from "../../lib/format.js";

const DURATIONS: ReadonlyArray<readonly [string, number]> = [
  ["15 min", 15 * 60_000],
  ["1 hour", 3600_000],
  ["4 hours", 4 * 3600_000],
  ["24 hours", 24 * 3600_000],
  ["7 days", 7 * 24 * 3600_000],
];

export interface SilencesPanelProps {
  /** Device and rule of an alert whose "Silence…" was pressed: fills the form and focuses it. */
  readonly prefill: { readonly device: string; readonly rule: string } | undefined;
  readonly onPrefillUsed: () => void;
}

/** Silences in force (and expired ones on demand), a form to add one, and ending one early. */
export function SilencesPanel({ prefill, onPrefillUsed }: SilencesPanelProps) {
  const app = useApp();
  const now = useNow(10_000);
  const [includeExpired, setIncludeExpired] = useState(false);
  const silences = useCall(`silences|${includeExpired}`, (signal) => app.clients.alerts.listSilences({ includeExpired }, { signal }));
  const [device, setDevice] = useState("");
  const [rule, setRule] = useState("");
  const [duration, setDuration] = useState(DURATIONS[1]![1]);
  const [reason, setReason] = useState("");
  const create = useAction();
  const remove = useAction();
  const [deleting, setDeleting] = useState<Silence | undefined>(undefined);
  const deviceInput = useRef<HTMLInputElement>(null);
  const canSilence = app.can("silence");

  useEffect(() => {
    if (prefill === undefined) return;
    setDevice(prefill.device);
    setRule(prefill.rule);
    onPrefillUsed();
    deviceInput.current?.scrollIntoView({ block: "center" });
    deviceInput.current?.focus();
  }, [prefill]);

  const columns: Column<Silence>[] = [
    { key: "device", header: "Device", cell: (s) => s.deviceId || <span class="muted">every device</span> },
    { key: "rule", header: "Rule", cell: (s) => s.rule || <span class="muted">every rule</span> },
    { key: "until", header: "Until", cell: (s) => (s.active ? <><Time ms={s.untilMs} now={now} /> <span class="muted">(in {formatDuration(Number(s.untilMs) - now)})</span></> : <Badge tone="neutral">expired</Badge>) },
    { key: "by", header: "By", cell: (s) => s.by },
    { key: "reason", header: "Reason", cell: (s) => s.reason || <span class="muted">–</span> },
    {
      key: "actions",
      header: "Actions",
      hiddenHeader: true,
      cell: (s) =>
        s.active ? (
          <ActionButton small permission={app.can("deleteSilence")} onClick={() => setDeleting(s)} testid="silence-delete" label={`End the silence of ${s.deviceId || "every device"} ${s.rule || ""}`}>
            End now
          </ActionButton>
        ) : null,
    },
  ];

  const blocked = device.trim() === "" && rule.trim() === "";
  return (
    <Section
      title="Silences"
      testid="silences"
      tools={
        <label class="check">
          <input type="checkbox" checked={includeExpired} onChange={(e) => setIncludeExpired(e.currentTarget.checked)} data-testid="silences-include-expired" /> Show expired
        </label>
      }
    >
      <ErrorBanner error={silences.error} title="Could not load the silences" testid="silences-error" onRetry={silences.reload} />
      <DataTable columns={columns} rows={silences.data?.silences ?? []} rowKey={(s) => s.id} caption="Silences" testid="silences-table" empty={silences.loading ? "Loading…" : "No silence in force."} />
      <form
        class="silence-form"
        aria-label="New silence"
        data-testid="silence-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (blocked || !canSilence.allowed) return;
          void create
            .run(() => app.clients.alerts.silenceAlerts({ deviceId: device.trim(), rule: rule.trim(), durationMs: BigInt(duration), by: app.caller.name, reason: reason.trim() }))
            .then((ok) => {
              if (!ok) return;
              setDevice("");
              setRule("");
              setReason("");
              silences.reload();
            });
        }}
      >
        <h3>New silence</h3>
        <div class="form-row">
          <div class="field-inline">
            <label for="silence-device">Device</label>
            <input id="silence-device" ref={deviceInput} class="input" value={device} autoComplete="off" spellcheck={false} placeholder="every device" data-testid="silence-device" onInput={(e) => setDevice(e.currentTarget.value)} />
          </div>
          <div class="field-inline">
            <label for="silence-rule">Rule</label>
            <input id="silence-rule" class="input" value={rule} autoComplete="off" spellcheck={false} placeholder="every rule" data-testid="silence-rule" onInput={(e) => setRule(e.currentTarget.value)} />
          </div>
          <div class="field-inline">
            <label for="silence-duration">For</label>
            <select id="silence-duration" class="input" value={String(duration)} data-testid="silence-duration" onChange={(e) => setDuration(Number(e.currentTarget.value))}>
              {DURATIONS.map(([label, ms]) => (
                <option key={ms} value={String(ms)}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          <div class="field-inline grow">
            <label for="silence-reason">Reason</label>
            <input id="silence-reason" class="input" value={reason} maxLength={1024} data-testid="silence-reason" onInput={(e) => setReason(e.currentTarget.value)} />
          </div>
          <button
            type="submit"
            class="btn btn-primary"
            data-testid="silence-create"
            disabled={create.pending}
            aria-disabled={!canSilence.allowed || blocked ? "true" : undefined}
            title={!canSilence.allowed ? canSilence.reason : blocked ? "Name a device, a rule, or both." : undefined}
            data-disabled-reason={!canSilence.allowed ? canSilence.reason : blocked ? "Name a device, a rule, or both." : undefined}
          >
            Silence
          </button>
        </div>
        {!canSilence.allowed && <p class="muted small">{canSilence.reason}</p>}
        <ErrorBanner error={create.error} title="Could not add the silence" testid="silence-create-error" onDismiss={create.clearError} />
      </form>
      {deleting && (
        <ConfirmDialog
          title="End this silence now?"
          confirmLabel="End silence"
          danger
          reason={{ label: "Reason" }}
          pending={remove.pending}
          error={remove.error}
          testid="silence-dialog"
          onConfirm={(why) =>
            remove.run(() => app.clients.alerts.deleteSilence({ id: deleting.id, by: app.caller.name, reason: why })).then((ok) => {
              if (ok) silences.reload();
              return ok;
            })
          }
          onClose={() => {
            remove.clearError();
            setDeleting(undefined);
          }}
        >
          <p>
            Alerts of <strong>{deleting.deviceId || "every device"}</strong> / <strong>{deleting.rule || "every rule"}</strong> will be notified again.
          </p>
        </ConfirmDialog>
      )}
    </Section>
  );
}
