import { useEffect, useState } from "preact/hooks";
import type { AuditEvent } from "../../gen/shoal/v1/audit_pb.js";
import { useApp } from "../app-context.js";
import { Badge, Facts, Loading, Section, Time } from "../components/bits.js";
import type { Column } from "../components/data-table.js";
import { DataTable } from "../components/data-table.js";
import { ErrorBanner } from "../components/error-banner.js";
import { Pager } from "../components/pager.js";
import { navigate } from "../hooks/use-route.js";
import { useRouteSync } from "../hooks/use-route-sync.js";
import { useDebounced, useNow } from "../hooks/use-timing.js";
import { useTokenPages } from "../hooks/use-token-pages.js";
import { localInputToMs, outcomeTone } from "../lib/registry-model.js";
import type { Route } from "../lib/router.js";

type AuditRoute = Extract<Route, { page: "audit" }>;

/**
 * The audit log (AuditService.ListAuditEvents): who did what to what, when, from where and the
 * outcome, newest first, paged; filtered by actor, action prefix, target prefix (in the URL) and a
 * time range. Reading it needs the admin role: others see the server's refusal, said plainly.
 */
export function AuditPage({ route }: { readonly route: AuditRoute }) {
  const app = useApp();
  const now = useNow(10_000);
  const [actor, setActor] = useState(route.actor);
  const [action, setAction] = useState(route.action);
  const [target, setTarget] = useState(route.target);
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  useRouteSync(`${route.actor}\n${route.action}\n${route.target}`, () => {
    setActor(route.actor);
    setAction(route.action);
    setTarget(route.target);
  });
  const typed = useDebounced(`${actor}\n${action}\n${target}`, 300);
  useEffect(() => {
    const [a = "", ac = "", t = ""] = typed.split("\n");
    if (a !== route.actor || ac !== route.action || t !== route.target) navigate({ page: "audit", actor: a, action: ac, target: t }, { replace: true });
  }, [typed]);

  const allowed = app.can("readAudit");
  const fromMs = localInputToMs(from);
  const toMs = localInputToMs(to);
  const key = allowed.allowed ? `${route.actor}|${route.action}|${route.target}|${fromMs}|${toMs}` : null;
  const list = useTokenPages(key, (pageToken, signal) =>
    app.clients.audit.listAuditEvents({ actor: route.actor.trim(), actionPrefix: route.action.trim(), targetPrefix: route.target.trim(), fromMs: BigInt(fromMs), toMs: BigInt(toMs), pageSize: 100, pageToken }, { signal }),
  );
  const events = list.data?.events ?? [];
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const shown = events.find((e) => keyOf(e) === selected);

  const columns: Column<AuditEvent>[] = [
    {
      key: "at",
      header: "When",
      cell: (e) => (
        <button type="button" class="btn btn-small btn-quiet" title={`Event ${e.id || "(no id)"}: show it`} data-testid="audit-select" onClick={() => setSelected(keyOf(e))}>
          <Time ms={e.atMs} now={now} />
        </button>
      ),
    },
    { key: "actor", header: "Who", cell: (e) => <span data-testid="audit-actor">{e.actor} <span class="muted">({e.actorRole})</span></span> },
    { key: "action", header: "What", cell: (e) => <span class="mono" data-testid="audit-action">{e.action}</span> },
    { key: "target", header: "Target", cell: (e) => <span class="mono" data-testid="audit-target">{e.target}</span> },
    { key: "source", header: "From", cell: (e) => e.source || <span class="muted">local</span> },
    { key: "outcome", header: "Outcome", cell: (e) => <Badge tone={outcomeTone(e.outcome)} testid="audit-outcome">{e.outcome}</Badge> },
    { key: "details", header: "Details", cell: (e) => (e.detailsJson && e.detailsJson !== "{}" ? <code class="audit-details">{e.detailsJson}</code> : <span class="muted">–</span>) },
  ];

  return (
    <div class="page" data-testid="page-audit">
      <h1>Audit log</h1>
      {!allowed.allowed && (
        <p class="warn-text" data-testid="audit-forbidden">
          {allowed.reason} The audit log (who did what) is for admins.
        </p>
      )}
      <div class="filters" role="search" aria-label="Filter the audit log">
        <label class="field-inline">
          Who <input class="input" value={actor} data-testid="audit-filter-actor" onInput={(e) => setActor(e.currentTarget.value)} />
        </label>
        <label class="field-inline">
          Action starts with <input class="input" value={action} placeholder="shoal.v1.DeviceService/" data-testid="audit-filter-action" onInput={(e) => setAction(e.currentTarget.value)} />
        </label>
        <label class="field-inline">
          Target starts with <input class="input" value={target} placeholder="device/" data-testid="audit-filter-target" onInput={(e) => setTarget(e.currentTarget.value)} />
        </label>
        <label class="field-inline">
          From <input class="input" type="datetime-local" value={from} data-testid="audit-filter-from" onInput={(e) => setFrom(e.currentTarget.value)} />
        </label>
        <label class="field-inline">
          To <input class="input" type="datetime-local" value={to} data-testid="audit-filter-to" onInput={(e) => setTo(e.currentTarget.value)} />
        </label>
        <button type="button" class="btn btn-small" onClick={list.reload} disabled={!allowed.allowed} data-testid="audit-refresh">
          Refresh
        </button>
      </div>
      <ErrorBanner error={list.error} title="Reading the audit log failed" testid="audit-error" onRetry={list.reload} />
      {allowed.allowed &&
        (list.data === undefined && list.loading ? (
          <Loading what="the audit log" testid="audit-loading" />
        ) : (
          <>
            {shown !== undefined && <AuditEventDetail event={shown} now={now} onClose={() => setSelected(undefined)} />}
            <DataTable columns={columns} rows={events} rowKey={keyOf} caption="Audit events, newest first" testid="audit-table" empty="No event matches." />
            <Pager pageNumber={list.pageNumber} hasPrevious={list.hasPrevious} hasNext={list.hasNext} onPrevious={list.previous} onNext={list.next} testid="audit-pager" />
          </>
        ))}
    </div>
  );
}

/** A row's key: the event's id (older servers sent none: then its contents). */
function keyOf(e: AuditEvent): string {
  return e.id || `${e.atMs}|${e.actor}|${e.action}|${e.target}|${e.source}|${e.detailsJson}`;
}

/** One event in full: its id (to quote it), exact time, who, what, outcome and details. */
function AuditEventDetail({ event: e, now, onClose }: { readonly event: AuditEvent; readonly now: number; readonly onClose: () => void }) {
  let details = e.detailsJson;
  try {
    details = JSON.stringify(JSON.parse(e.detailsJson), null, 2);
  } catch {
    // shown as stored
  }
  return (
    <Section title="Audit event" testid="audit-detail">
      <Facts
        items={[
          ["Id", <code>{e.id || "–"}</code>, "audit-detail-id"],
          ["When", <span>{new Date(Number(e.atMs)).toISOString()} (<Time ms={e.atMs} now={now} />)</span>, "audit-detail-at"],
          ["Who", `${e.actor} (${e.actorRole || "no role"})`, "audit-detail-actor"],
          ["From", e.source || "local", "audit-detail-source"],
          ["What", <code>{e.action}</code>, "audit-detail-action"],
          ["Target", <code>{e.target || "–"}</code>, "audit-detail-target"],
          ["Outcome", <Badge tone={outcomeTone(e.outcome)}>{e.outcome}</Badge>, "audit-detail-outcome"],
          ["Details", <pre class="audit-details">{details}</pre>, "audit-detail-details"],
        ]}
      />
      <button type="button" class="btn btn-small" onClick={onClose} data-testid="audit-detail-close">
        Close
      </button>
    </Section>
  );
}
