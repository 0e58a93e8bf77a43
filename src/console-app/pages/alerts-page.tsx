import { useEffect, useRef, useState } from "preact/hooks";
import { AlertSeverity, AlertState } from "../../gen/shoal/v1/alert_pb.js";
import { useApp } from "../app-context.js";
import { ActionButton } from "../components/action-button.js";
import type { Tone } from "../components/bits.js";
import { Badge, Time } from "../components/bits.js";
import { ConfirmDialog } from "../components/confirm-dialog.js";
import type { Column } from "../components/data-table.js";
import { DataTable } from "../components/data-table.js";
import { ErrorBanner, Notice } from "../components/error-banner.js";
import { useAction } from "../hooks/use-call.js";
import { useAlertList } from "../hooks/use-alert-list.js";
import { navigate } from "../hooks/use-route.js";
import { useDebounced, useNow } from "../hooks/use-timing.js";
import type { AlertRow } from "../lib/alerts-model.js";
import { severityLabel, stateLabel } from "../lib/alerts-model.js";
import { truncate } from "../lib/format.js";
import type { AlertStateName, Route, SeverityName } from "../lib/router.js";
import { ALERT_STATE_NAMES, SEVERITY_NAMES, deviceHref } from "../lib/router.js";
import { SilencesPanel } from "./alerts/silences-panel.js";

type AlertsRoute = Extract<Route, { page: "alerts" }>;

const SEVERITY_TONE: Record<number, Tone> = { [AlertSeverity.INFO]: "info", [AlertSeverity.WARNING]: "warn", [AlertSeverity.CRITICAL]: "bad" };
const STATE_TONE: Record<number, Tone> = { [AlertState.FIRING]: "bad", [AlertState.ACKNOWLEDGED]: "warn", [AlertState.RESOLVED]: "ok" };

type Pending = { readonly kind: "ack" | "resolve"; readonly alert: AlertRow } | undefined;

/** Alerts by state (filters in the URL), acknowledged and resolved by operators, live through WatchAlerts; and the silences. */
export function AlertsPage({ route }: { readonly route: AlertsRoute }) {
  const app = useApp();
  const now = useNow(5000);
  const filter = { states: route.states, device: route.device, ...(route.severity ? { minSeverity: route.severity } : {}) };
  const list = useAlertList(filter);
  const [dialog, setDialog] = useState<Pending>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [silencePrefill, setSilencePrefill] = useState<{ device: string; rule: string } | undefined>(undefined);
  const action = useAction();

  const columns: Column<AlertRow>[] = [
    { key: "severity", header: "Severity", width: "6rem", cell: (a) => <Badge tone={SEVERITY_TONE[a.severity] ?? "neutral"}>{severityLabel(a.severity)}</Badge> },
    {
      key: "state",
      header: "State",
      width: "10.5rem",
      cell: (a) => (
        <span class="nowrap">
          <Badge tone={STATE_TONE[a.state] ?? "neutral"} testid="alert-state">
            {stateLabel(a.state)}
          </Badge>
          {a.flapping && (
            <>
              {" "}
              <Badge tone="warn">flapping</Badge>
            </>
          )}
        </span>
      ),
    },
    { key: "device", header: "Device", cell: (a) => <a href={deviceHref(a.deviceId, { fromMs: a.startedAtMs - 15 * 60_000, toMs: Math.max(a.updatedAtMs, a.startedAtMs) + 15 * 60_000 })}>{a.deviceId}</a> },
    { key: "rule", header: "Rule", cell: (a) => a.rule + (a.metric ? ` · ${a.metric}` : "") },
    { key: "started", header: "Started", width: "9rem", cell: (a) => <Time ms={a.startedAtMs} now={now} /> },
    { key: "updated", header: "Updated", width: "8rem", cell: (a) => <Time ms={a.updatedAtMs} now={now} ago /> },
    { key: "summary", header: "Summary", cell: (a) => <span title={[a.summary, a.detail].filter(Boolean).join("\n")}>{truncate(a.summary || a.detail || "–", 120)}</span> },
    {
      key: "actions",
      header: "Actions",
      hiddenHeader: true,
      width: "15.5rem",
      cell: (a) => (
        <div class="row-actions">
          {a.state === AlertState.FIRING && (
            <ActionButton small permission={app.can("acknowledge")} onClick={() => setDialog({ kind: "ack", alert: a })} testid="alert-ack" label={`Acknowledge alert ${a.alertId}`}>
              Acknowledge
            </ActionButton>
          )}
          {a.state !== AlertState.RESOLVED && (
            <ActionButton small permission={app.can("resolve")} onClick={() => setDialog({ kind: "resolve", alert: a })} testid="alert-resolve" label={`Resolve alert ${a.alertId}`}>
              Resolve
            </ActionButton>
          )}
          <ActionButton small variant="quiet" permission={app.can("silence")} onClick={() => setSilencePrefill({ device: a.deviceId, rule: a.rule })} testid="alert-silence" label={`Silence the alerts of ${a.deviceId} rule ${a.rule}`}>
            Silence…
          </ActionButton>
        </div>
      ),
    },
  ];

  const confirm = async (reason: string) => {
    if (dialog === undefined) return false;
    const { kind, alert } = dialog;
    let applied = true;
    const ok = await action.run(async () => {
      const req = { alertId: alert.alertId, by: app.caller.name, reason };
      const res = kind === "ack" ? await app.clients.alerts.acknowledgeAlert(req) : await app.clients.alerts.resolveAlert(req);
      applied = res.applied;
      if (res.alert) list.applyAlert(res.alert);
    });
    if (ok) setNotice(applied ? `${kind === "ack" ? "Acknowledged" : "Resolved"} ${alert.alertId}.` : `${kind === "ack" ? "Acknowledgement" : "Resolution"} of ${alert.alertId} accepted; its actor applies it shortly.`);
    return ok;
  };

  return (
    <div class="page" data-testid="page-alerts">
      <div class="page-head">
        <h1>Alerts</h1>
        <span class="muted" data-testid="alerts-live-count">
          {list.liveCount > 0 ? `${list.liveCount} live update${list.liveCount === 1 ? "" : "s"}` : ""}
        </span>
      </div>
      <AlertFilters route={route} />
      <Notice text={notice} testid="alerts-notice" onDismiss={() => setNotice(undefined)} />
      <ErrorBanner error={list.error} title="Could not load the alerts" testid="alerts-error" onRetry={list.reload} />
      {list.status.state === "retrying" && <ErrorBanner error={list.status.error} title="Live updates paused" testid="alerts-stream-error" />}
      <DataTable
        columns={columns}
        rows={list.rows}
        rowKey={(a) => a.alertId}
        caption={`Alerts: ${route.states.join(", ")}${route.device ? ` of ${route.device}` : ""}, newest first`}
        testid="alerts-table"
        rowAttrs={(a) => ({ "data-alert-id": a.alertId, "data-state": stateLabel(a.state) })}
        empty={list.loading ? "Loading…" : "No alert matches."}
      />
      {list.hasMore && (
        <p>
          <button type="button" class="btn" onClick={list.loadMore} disabled={list.loading} data-testid="alerts-load-more">
            {list.loading ? "Loading…" : "Load more"}
          </button>
        </p>
      )}
      <SilencesPanel prefill={silencePrefill} onPrefillUsed={() => setSilencePrefill(undefined)} />
      {dialog && (
        <ConfirmDialog
          title={dialog.kind === "ack" ? "Acknowledge this alert?" : "Resolve this alert?"}
          confirmLabel={dialog.kind === "ack" ? "Acknowledge" : "Resolve"}
          danger={dialog.kind === "resolve"}
          reason={{ label: "Reason" }}
          pending={action.pending}
          error={action.error}
          onConfirm={confirm}
          onClose={() => {
            action.clearError();
            setDialog(undefined);
          }}
          testid="alert-dialog"
        >
          <p>
            <strong>{dialog.alert.alertId}</strong>: {dialog.alert.summary || dialog.alert.rule}
          </p>
          <p class="muted">{dialog.kind === "ack" ? "It stays open, marked as acknowledged by you." : "Resolving is final; a new alert opens if the condition returns."}</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function AlertFilters({ route }: { readonly route: AlertsRoute }) {
  const [device, setDevice] = useState(route.device);
  const typed = useDebounced(device.trim(), 400);
  const last = useRef(route.device);
  useEffect(() => {
    if (typed === last.current) return;
    last.current = typed;
    navigate({ ...route, device: typed }, { replace: true });
  }, [typed]);
  useEffect(() => {
    if (route.device !== last.current) {
      last.current = route.device;
      setDevice(route.device);
    }
  }, [route.device]);

  const toggle = (s: AlertStateName, on: boolean) => {
    const states = on ? [...route.states, s] : route.states.filter((x) => x !== s);
    if (states.length > 0) navigate({ ...route, states: ALERT_STATE_NAMES.filter((x) => states.includes(x)) });
  };
  return (
    <form class="filters" aria-label="Alert filters" onSubmit={(e) => e.preventDefault()}>
      <fieldset class="inline-fieldset">
        <legend>State</legend>
        {ALERT_STATE_NAMES.map((s) => (
          <label key={s} class="check">
            <input type="checkbox" checked={route.states.includes(s)} data-testid={`alerts-filter-${s}`} onChange={(e) => toggle(s, e.currentTarget.checked)} /> {s}
          </label>
        ))}
      </fieldset>
      <div class="field-inline">
        <label for="alerts-device">Device</label>
        <input id="alerts-device" class="input" type="search" value={device} autoComplete="off" spellcheck={false} placeholder="any" data-testid="alerts-filter-device" onInput={(e) => setDevice(e.currentTarget.value)} />
      </div>
      <div class="field-inline">
        <label for="alerts-severity">Severity at least</label>
        <select
          id="alerts-severity"
          class="input"
          value={route.severity ?? ""}
          data-testid="alerts-filter-severity"
          onChange={(e) => {
            const v = e.currentTarget.value as SeverityName | "";
            const { severity: _drop, ...rest } = route;
            navigate(v === "" ? rest : { ...rest, severity: v });
          }}
        >
          <option value="">any</option>
          {SEVERITY_NAMES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
    </form>
  );
}
