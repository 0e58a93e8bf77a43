import { useEffect, useRef, useState } from "preact/hooks";
import type { TextHit } from "../../gen/shoal/v1/query_pb.js";
import { useApp } from "../app-context.js";
import { Badge, Loading, Time } from "../components/bits.js";
import { ErrorBanner } from "../components/error-banner.js";
import { useCall } from "../hooks/use-call.js";
import { useRouteSync } from "../hooks/use-route-sync.js";
import { navigate } from "../hooks/use-route.js";
import { formatNumber } from "../lib/format.js";
import type { Route, TextKind } from "../lib/router.js";
import { TEXT_KINDS, deviceHref } from "../lib/router.js";

type SearchRoute = Extract<Route, { page: "search" }>;

const AROUND_MS = 15 * 60_000;

/** Free text over explanations, reports and device logs, by meaning (SearchText); the query lives in the URL. */
export function SearchPage({ route }: { readonly route: SearchRoute }) {
  const app = useApp();
  const [q, setQ] = useState(route.q);
  const [device, setDevice] = useState(route.device);
  const [kinds, setKinds] = useState<readonly TextKind[]>(route.kinds);
  const input = useRef<HTMLInputElement>(null);
  useRouteSync(`${route.q}\n${route.device}\n${route.kinds.join(",")}`, () => {
    setQ(route.q);
    setDevice(route.device);
    setKinds(route.kinds);
  });
  useEffect(() => {
    if (route.q === "") input.current?.focus();
  }, []);

  const key = route.q.trim() === "" ? null : `${route.q}|${route.kinds.join(",")}|${route.device}`;
  const results = useCall(key, (signal) => app.clients.query.searchText({ query: route.q.trim(), kinds: [...route.kinds], deviceId: route.device.trim(), k: 30 }, { signal }));
  const hits = results.data?.hits ?? [];

  return (
    <div class="page" data-testid="page-search">
      <h1>Search</h1>
      <form
        class="search-form"
        role="search"
        aria-label="Search explanations, reports and logs"
        onSubmit={(e) => {
          e.preventDefault();
          navigate({ page: "search", q: q.trim(), kinds, device: device.trim() });
        }}
      >
        <div class="field-inline grow">
          <label for="search-q">Text</label>
          <input id="search-q" ref={input} class="input" type="search" value={q} placeholder="e.g. compressor overheating after restart" data-testid="search-input" onInput={(e) => setQ(e.currentTarget.value)} />
        </div>
        <div class="field-inline">
          <label for="search-device">Device</label>
          <input id="search-device" class="input" value={device} placeholder="any" autoComplete="off" spellcheck={false} data-testid="search-device" onInput={(e) => setDevice(e.currentTarget.value)} />
        </div>
        <fieldset class="inline-fieldset">
          <legend>In</legend>
          {TEXT_KINDS.map((k) => (
            <label key={k} class="check">
              <input type="checkbox" checked={kinds.length === 0 || kinds.includes(k)} data-testid={`search-kind-${k}`} onChange={(e) => {
                const all = kinds.length === 0 ? [...TEXT_KINDS] : [...kinds];
                const next = e.currentTarget.checked ? [...all, k] : all.filter((x) => x !== k);
                setKinds(next.length === TEXT_KINDS.length ? [] : TEXT_KINDS.filter((x) => next.includes(x)));
              }} /> {k}s
            </label>
          ))}
        </fieldset>
        <button type="submit" class="btn btn-primary" data-testid="search-submit" disabled={q.trim() === ""}>
          Search
        </button>
      </form>
      <ErrorBanner error={results.error} title="Search failed" testid="search-error" onRetry={results.reload} />
      {key === null ? (
        <p class="muted">Search what the model explained, the reports and the device logs by meaning, not only by words.</p>
      ) : results.loading ? (
        <Loading what="results" testid="search-loading" />
      ) : (
        <>
          <p class="muted" role="status" data-testid="search-count">
            {hits.length === 0 ? "Nothing found." : `${hits.length} closest, best first.`}
          </p>
          <ol class="hits" data-testid="search-results">
            {hits.map((h, i) => (
              <Hit key={i} hit={h} />
            ))}
          </ol>
        </>
      )}
    </div>
  );
}

function Hit({ hit }: { readonly hit: TextHit }) {
  const ts = Number(hit.tsMs);
  return (
    <li class="hit" data-testid="search-result" data-kind={hit.kind}>
      <div class="hit-head">
        <Badge tone={hit.kind === "explanation" ? "info" : hit.kind === "report" ? "ok" : "neutral"}>{hit.kind}</Badge>
        {hit.deviceId && (
          <a href={deviceHref(hit.deviceId, ts > 0 ? { fromMs: ts - AROUND_MS, toMs: ts + AROUND_MS } : undefined, ts > 0 && hit.kind === "explanation" ? { atMs: ts, metric: hit.metric } : undefined)}>
            {hit.deviceId}
          </a>
        )}
        {hit.metric && <span class="muted">{hit.metric}</span>}
        <Time ms={hit.tsMs} />
        <span class="muted" title="Cosine distance: 0 = same meaning">
          distance {formatNumber(hit.distance)}
        </span>
      </div>
      <p class="hit-text">{hit.text}</p>
    </li>
  );
}
