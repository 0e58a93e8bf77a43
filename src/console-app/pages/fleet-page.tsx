import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { WatchFleetResponse } from "../../gen/shoal/v1/query_pb.js";
import { useApp } from "../app-context.js";
import { FLEET_TOP } from "../api/early-calls.js";
import { Badge, Section, Time } from "../components/bits.js";
import type { Column } from "../components/data-table.js";
import { DataTable } from "../components/data-table.js";
import { ErrorBanner } from "../components/error-banner.js";
import { Sparkline } from "../components/sparkline.js";
import { VirtualTable } from "../components/virtual-table.js";
import type { DeviceRow } from "../hooks/use-device-pages.js";
import { useDevicePages } from "../hooks/use-device-pages.js";
import { navigate } from "../hooks/use-route.js";
import { useStream } from "../hooks/use-stream.js";
import { useDebounced, useNow } from "../hooks/use-timing.js";
import { formatDuration, formatInt, formatRate, formatScore } from "../lib/format.js";
import type { Route } from "../lib/router.js";
import { deviceHref } from "../lib/router.js";
import { SeriesBuffer } from "../lib/series-buffer.js";
import { displayedRowCount } from "../lib/virtual-window.js";

/** Snapshots kept for the sparklines: 10 minutes at one every ~2 s. */
const RATE_HISTORY = 300;
const ROW_HEIGHT = 30;

type FleetRoute = Extract<Route, { page: "fleet" }>;

/** The fleet at a glance (WatchFleet, live) and every device by id prefix (ListDevices, paged as you scroll). */
export function FleetPage({ route }: { readonly route: FleetRoute }) {
  const { clients } = useApp();
  const [snap, setSnap] = useState<WatchFleetResponse | undefined>(undefined);
  const rates = useMemo(() => new SeriesBuffer(3, { capacity: RATE_HISTORY }), []);
  const stream = useStream<WatchFleetResponse>({
    name: "fleet",
    key: "fleet",
    open: (signal, onHeader) => clients.query.watchFleet({ top: FLEET_TOP }, { signal, onHeader }),
    onMessage: (m) => {
      rates.add(Number(m.atMs), [m.ingestPerS, m.anomaliesPerMin, m.incidentsPerMin]);
      setSnap(m);
    },
  });

  return (
    <div class="page" data-testid="page-fleet">
      <h1>Fleet</h1>
      <FiguresTime snap={snap} />
      {stream.state === "retrying" && !snap && <ErrorBanner error={stream.error} title="The fleet stream failed" testid="fleet-error" />}
      <FleetSummary snap={snap} rates={rates} />
      <div class="split">
        <TopDevices snap={snap} />
        <DeviceSearch prefix={route.prefix} fleetSize={snap && route.prefix === "" ? Number(snap.devices) : -1} />
      </div>
    </div>
  );
}

/** When the figures shown were computed (a console opens on the read side's last ones, then fresh ones follow). */
function FiguresTime({ snap }: { readonly snap: WatchFleetResponse | undefined }) {
  const now = useNow(1000);
  if (snap === undefined) return null;
  return (
    <p class="muted" data-testid="fleet-as-of">
      Figures as of <Time ms={snap.atMs} now={now} ago />
    </p>
  );
}

function Counter({ label, value, testid, tone }: { readonly label: string; readonly value: string; readonly testid: string; readonly tone?: string }) {
  return (
    <div class={`stat ${tone ? `stat-${tone}` : ""}`}>
      <div class="stat-label">{label}</div>
      <div class="stat-value" data-testid={testid}>
        {value}
      </div>
    </div>
  );
}

function FleetSummary({ snap, rates }: { readonly snap: WatchFleetResponse | undefined; readonly rates: SeriesBuffer }) {
  const [xs, ingest, anomalies, incidents] = rates.view();
  const v = (n: bigint | undefined) => (n === undefined ? "…" : formatInt(n));
  return (
    <section class="stats" aria-label="Fleet summary" data-testid="fleet-summary">
      <Counter label="Devices" value={v(snap?.devices)} testid="fleet-count-devices" />
      <Counter label="Online" value={v(snap?.online)} testid="fleet-count-online" tone="ok" />
      <Counter label="Offline" value={v(snap?.offline)} testid="fleet-count-offline" tone={snap && snap.offline > 0n ? "bad" : undefined} />
      <Counter label="Silent" value={v(snap?.silent)} testid="fleet-count-silent" tone={snap && snap.silent > 0n ? "warn" : undefined} />
      <RateStat label={`Ingest${snap ? ` (over ${formatDuration(snap.rateWindowMs)})` : ""}`} value={snap ? formatRate(snap.ingestPerS, "s") : "…"} xs={xs} ys={ingest!} what={`Ingest rate, readings per second, last ${rates.length} snapshots`} testid="fleet-ingest" />
      <RateStat label="Anomalies" value={snap ? formatRate(snap.anomaliesPerMin, "min") : "…"} xs={xs} ys={anomalies!} what={`Anomaly rate, anomalies per minute, last ${rates.length} snapshots`} testid="fleet-anomaly" />
      <RateStat label="Incidents" value={snap ? formatRate(snap.incidentsPerMin, "min") : "…"} xs={xs} ys={incidents!} what={`Incident rate (anomalies of one fault a few readings apart count once), incidents per minute, last ${rates.length} snapshots`} testid="fleet-incident" />
    </section>
  );
}

/** A rate with its sparkline; test ids `<testid>-rate` and `<testid>-sparkline`. */
function RateStat(p: { readonly label: string; readonly value: string; readonly xs: Parameters<typeof Sparkline>[0]["xs"]; readonly ys: Parameters<typeof Sparkline>[0]["ys"]; readonly what: string; readonly testid: string }) {
  return (
    <div class="stat stat-wide">
      <div class="stat-label">{p.label}</div>
      <div class="stat-row">
        <span class="stat-value" data-testid={`${p.testid}-rate`}>
          {p.value}
        </span>
        <Sparkline xs={p.xs} ys={p.ys} label={p.what} testid={`${p.testid}-sparkline`} />
      </div>
    </div>
  );
}

function TopDevices({ snap }: { readonly snap: WatchFleetResponse | undefined }) {
  const now = useNow(5000);
  type Top = WatchFleetResponse["top"][number];
  const columns: Column<Top>[] = [
    { key: "id", header: "Device", cell: (d) => <a href={deviceHref(d.deviceId)}>{d.deviceId}</a> },
    { key: "i", header: "Incidents", numeric: true, cell: (d) => formatInt(d.incidents) },
    { key: "n", header: "Anomalies", numeric: true, cell: (d) => formatInt(d.anomalies) },
    { key: "max", header: "Max score", numeric: true, cell: (d) => formatScore(d.maxScore) },
    { key: "last", header: "Last", cell: (d) => <Time ms={d.lastAnomalyMs} now={now} ago /> },
  ];
  return (
    <Section title="Most anomalous now" testid="fleet-top-section" tools={snap ? <span class="muted">over {formatDuration(snap.anomalyWindowMs)}</span> : undefined}>
      <DataTable columns={columns} rows={snap?.top ?? []} rowKey={(d) => d.deviceId} caption="Most anomalous devices now" testid="fleet-top" empty={snap ? "No anomalies in the window." : "Waiting for the first snapshot…"} />
    </Section>
  );
}

function DeviceSearch({ prefix, fleetSize }: { readonly prefix: string; readonly fleetSize: number }) {
  const now = useNow(5000);
  const [text, setText] = useState(prefix);
  const typed = useDebounced(text, 300);
  const lastTyped = useRef(prefix);
  // Typing rewrites the URL (replace: Back leaves the page, not a letter); Back/links set the box.
  useEffect(() => {
    if (typed === lastTyped.current) return;
    lastTyped.current = typed;
    navigate({ page: "fleet", prefix: typed.trim() }, { replace: true });
  }, [typed]);
  useEffect(() => {
    if (prefix !== lastTyped.current.trim()) {
      lastTyped.current = prefix;
      setText(prefix);
    }
  }, [prefix]);

  const pages = useDevicePages(prefix);
  const count = displayedRowCount({ loaded: pages.rows.length, hasMore: pages.hasMore }, 40);
  const columns: Column<DeviceRow>[] = [
    { key: "id", header: "Device", width: "19%", cell: (d) => <a href={deviceHref(d.id)}>{d.id}</a> },
    { key: "state", header: "State", width: "9%", cell: (d) => (d.online ? <Badge tone="ok">online</Badge> : <Badge tone="neutral">offline</Badge>) },
    { key: "seen", header: "Last seen", width: "12%", cell: (d) => <Time ms={d.lastSeenMs} now={now} ago /> },
    { key: "readings", header: "Readings", numeric: true, width: "10%", cell: (d) => formatInt(d.readings) },
    { key: "epoch", header: "Epoch / seq", numeric: true, width: "12%", cell: (d) => `${d.epoch} / ${formatInt(d.lastSeq)}` },
    { key: "incidents", header: "Incidents 24 h", numeric: true, width: "11%", cell: (d) => (d.incidents > 0 ? <strong>{formatInt(d.incidents)}</strong> : "0") },
    { key: "anomalies", header: "Anomalies 24 h", numeric: true, width: "12%", cell: (d) => formatInt(d.anomalies) },
    { key: "event", header: "Last event", cell: (d) => (d.lastEvent ? `${d.lastEvent}` : <span class="muted">–</span>) },
  ];
  const status = pages.error ? "" : pages.hasMore ? `${formatInt(pages.rows.length)} loaded${fleetSize >= 0 ? ` of ${formatInt(fleetSize)}` : ""}, scroll for more` : `${formatInt(pages.rows.length)} device${pages.rows.length === 1 ? "" : "s"}`;
  return (
    <Section
      title="Devices"
      testid="device-search"
      tools={
        <>
          <label for="fleet-prefix" class="inline-label">
            Id starts with
          </label>
          <input id="fleet-prefix" type="search" class="input" value={text} placeholder="e.g. dev-1" autoComplete="off" spellcheck={false} data-testid="fleet-prefix" onInput={(e) => setText(e.currentTarget.value)} />
          <button type="button" class="btn btn-small" onClick={pages.reload} data-testid="device-table-reload">
            Reload
          </button>
        </>
      }
    >
      <ErrorBanner error={pages.error} title="Could not load devices" testid="device-table-error" onRetry={pages.retry} />
      <p class="muted table-status" data-testid="device-table-status" aria-live="polite">
        {status}
      </p>
      <VirtualTable
        columns={columns}
        rowCount={count}
        getRow={(i) => pages.rows[i]}
        rowKey={(d) => d.id}
        rowHeight={ROW_HEIGHT}
        caption={prefix ? `Devices whose id starts with ${prefix}` : "All devices"}
        testid="device-table"
        onWindow={pages.onWindow}
        totalRows={pages.hasMore ? (fleetSize >= 0 ? fleetSize : -1) : pages.rows.length}
        resetKey={prefix}
        empty={pages.loading ? "Loading…" : prefix ? `No device id starts with “${prefix}”.` : "No devices yet."}
      />
    </Section>
  );
}
