import { useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import type { Analysis, SimilarIncident } from "../../../gen/shoal/v1/query_pb.js";
import { useApp } from "../../app-context.js";
import type { CallError } from "../../api/errors.js";
import { Badge, Loading, Section, Time } from "../../components/bits.js";
import type { Column } from "../../components/data-table.js";
import { DataTable } from "../../components/data-table.js";
import { ErrorBanner } from "../../components/error-banner.js";
import { useCall } from "../../hooks/use-call.js";
import { useNow } from "../../hooks/use-timing.js";
import { formatNumber, formatScore, truncate } from "../../lib/format.js";
import type { Route } from "../../lib/router.js";
import { deviceHref, formatRoute } from "../../lib/router.js";
import { incidentOpener, joinedIncident } from "../../lib/incidents.js";

type DeviceRoute = Extract<Route, { page: "device" }>;

/** Half the range a "zoom to" shows around an incident. */
const AROUND_MS = 15 * 60_000;

export interface AnomalyPanelProps {
  readonly deviceId: string;
  readonly route: DeviceRoute;
  readonly history: { readonly fromMs: number; readonly toMs: number } | undefined;
  readonly analyses: readonly Analysis[];
  readonly loading: boolean;
  readonly error: CallError | undefined;
  readonly onRetry: () => void;
}

/** The device's anomalies (newest first) and, for the one selected in the URL, its explanation and the most similar past incidents. */
export function AnomalyPanel(props: AnomalyPanelProps) {
  const now = useNow(5000);
  const { route } = props;
  const selectHref = (a: Analysis) => formatRoute({ ...route, atMs: Number(a.tsMs), metric: a.metric });
  const isSelected = (a: Analysis) => route.atMs === Number(a.tsMs) && (route.metric === undefined || route.metric === a.metric);
  // Where a joined anomaly's explanation is (undefined for every other anomaly).
  const incidentNote = (a: Analysis) => (joinedIncident(a) ? <JoinedNote a={a} opener={incidentOpener(a, props.analyses)} href={selectHref} /> : undefined);
  const columns: Column<Analysis>[] = [
    {
      key: "at",
      header: "When",
      width: "8.5rem",
      cell: (a) => (
        <a href={selectHref(a)} aria-current={isSelected(a) ? "true" : undefined} data-testid="device-anomaly-select">
          <Time ms={a.tsMs} now={now} />
        </a>
      ),
    },
    { key: "metric", header: "Metric", width: "8rem", cell: (a) => a.metric || <span class="muted">all</span> },
    { key: "score", header: "Score", numeric: true, width: "4.5rem", cell: (a) => formatScore(a.score) },
    { key: "why", header: "Why", width: "11rem", cell: (a) => <span data-testid="device-anomaly-why">{whyOf(a.reasons) || <span class="muted">–</span>}</span> },
    { key: "summary", header: "Explanation", cell: (a) => incidentNote(a) ?? <span title={a.summary}>{truncate(a.summary || "(no explanation stored)", 140)}</span> },
  ];
  const selected = props.analyses.find(isSelected);
  return (
    <>
      <Section title="Anomalies" testid="device-anomalies-section" tools={<span class="muted">{props.history ? "in the range shown" : "last 24 h, live"}</span>}>
        <ErrorBanner error={props.error} title="Could not load the anomalies" testid="device-anomalies-error" onRetry={props.onRetry} />
        {props.loading && props.analyses.length === 0 ? (
          <Loading what="anomalies" />
        ) : (
          <div class="scroll-y">
            <DataTable
              columns={columns}
              rows={props.analyses}
              rowKey={(a) => `${a.tsMs}|${a.metric}|${a.epoch}|${a.seq}`}
              caption="Anomalies of this device, newest first; choose one to see its explanation and similar incidents"
              testid="device-anomalies"
              rowAttrs={(a) => ({ class: isSelected(a) ? "selected" : undefined })}
              empty="No anomaly in this range."
            />
          </div>
        )}
      </Section>
      {route.atMs !== undefined && (
        <AnomalyDetail deviceId={props.deviceId} atMs={route.atMs} metric={route.metric ?? selected?.metric ?? ""} analysis={selected} incident={selected && incidentNote(selected)} />
      )}
    </>
  );
}

/** Where a joined anomaly's explanation is: with the incident's first anomaly (a link to it when listed). */
function JoinedNote({ a, opener, href }: { readonly a: Analysis; readonly opener: Analysis | undefined; readonly href: (a: Analysis) => string }) {
  return (
    <span class="muted" data-testid="anomaly-joined">
      Part of the incident opened{" "}
      {opener ? (
        <a href={href(opener)} data-testid="anomaly-joined-opener">
          by {opener.metric || "all metrics"} at <Time ms={opener.tsMs} />
        </a>
      ) : (
        a.incidentSeq > 0n ? <>at seq {String(a.incidentSeq)}</> : <>at <Time ms={a.incidentTsMs} /></>
      )}
      : explained there
    </span>
  );
}

function AnomalyDetail({ deviceId, atMs, metric, analysis, incident }: { readonly deviceId: string; readonly atMs: number; readonly metric: string; readonly analysis: Analysis | undefined; readonly incident: ComponentChildren }) {
  const { clients } = useApp();
  const [otherOnly, setOtherOnly] = useState(false);
  const similar = useCall(`${deviceId}|${atMs}|${metric}|${otherOnly}`, (signal) =>
    clients.query.searchSimilarIncidents({ deviceId, metric, tsMs: BigInt(atMs), k: 8, otherDevicesOnly: otherOnly }, { signal }),
  );
  const columns: Column<SimilarIncident>[] = [
    { key: "device", header: "Device", cell: (i) => <a href={deviceHref(i.deviceId, { fromMs: Number(i.tsMs) - AROUND_MS, toMs: Number(i.tsMs) + AROUND_MS }, { atMs: Number(i.tsMs), metric: i.metric })}>{i.deviceId}</a> },
    { key: "at", header: "When", cell: (i) => <Time ms={i.tsMs} /> },
    { key: "metric", header: "Metric", cell: (i) => i.metric },
    { key: "distance", header: "Distance", numeric: true, cell: (i) => formatNumber(i.distance) },
    { key: "score", header: "Score", numeric: true, cell: (i) => formatScore(i.score) },
    { key: "summary", header: "Explanation", cell: (i) => <span title={i.summary}>{truncate(i.summary || "–", 120)}</span> },
  ];
  return (
    <Section
      title="Selected anomaly"
      testid="anomaly-detail"
      tools={
        <a class="btn btn-small" href={deviceHref(deviceId, { fromMs: atMs - AROUND_MS, toMs: atMs + AROUND_MS }, { atMs, metric })} data-testid="anomaly-zoom">
          Zoom to it
        </a>
      }
    >
      <p>
        <Time ms={atMs} /> · <strong>{metric || "all metrics"}</strong>
        {analysis && <> · score {formatScore(analysis.score)}</>}
      </p>
      {analysis ? (
        <dl class="explanation" data-testid="anomaly-explanation">
          <dt>Why it fired</dt>
          <dd data-testid="anomaly-reasons">{whyOf(analysis.reasons) || "–"}</dd>
          {incident !== undefined && (
            <>
              <dt>Incident</dt>
              <dd>{incident}</dd>
            </>
          )}
          <dt>Summary</dt>
          <dd data-testid="anomaly-summary">{analysis.summary || "–"}</dd>
          <dt>Likely cause</dt>
          <dd>{analysis.likelyCause || "–"}</dd>
          <dt>Suggested action</dt>
          <dd>{analysis.suggestedAction || "–"}</dd>
          <dt>Explained by</dt>
          {incident !== undefined ? (
            <dd class="muted" data-testid="anomaly-explained-by">
              – (the incident's first anomaly is explained)
            </dd>
          ) : (
            <dd data-testid="anomaly-explained-by">
              {analysis.provider || "?"} {analysis.model && <span class="muted">({analysis.model})</span>} {analysis.cached && <Badge tone="neutral">cached</Badge>} {analysis.degraded && <Badge tone="warn">degraded: no model answer</Badge>}
            </dd>
          )}
        </dl>
      ) : (
        <p class="muted" data-testid="anomaly-explanation-missing">
          No explanation of this anomaly in the list shown.
        </p>
      )}
      <div class="subhead">
        <h3>Similar past incidents</h3>
        <label class="check">
          <input type="checkbox" checked={otherOnly} data-testid="similar-other-only" onChange={(e) => setOtherOnly(e.currentTarget.checked)} /> Other devices only
        </label>
      </div>
      <ErrorBanner error={similar.error} title="Could not search similar incidents" testid="similar-error" onRetry={similar.reload} />
      {similar.loading && !similar.data ? (
        <Loading what="similar incidents" />
      ) : (
        <DataTable columns={columns} rows={similar.data?.incidents ?? []} rowKey={(i) => `${i.deviceId}|${i.tsMs}|${i.metric}`} caption="Past incidents most similar to the selected anomaly, closest first" testid="similar-incidents" empty="No similar incident stored." />
      )}
    </Section>
  );
}

/** Reasons as operators read them: `temp: range 0.97 · rpm: joint 0.91` (metric, detector term, score). */
function whyOf(reasons: readonly { metric: string; term: string; score: number }[]): string {
  return reasons.map((r) => `${r.metric}: ${r.term} ${formatScore(r.score)}`).join(" · ");
}
