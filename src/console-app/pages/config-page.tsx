import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { ConfigEntry, EffectiveConfig, WatchConfigResponse } from "../../gen/shoal/v1/config_pb.js";
import { useApp } from "../app-context.js";
import { ActionButton } from "../components/action-button.js";
import type { Tone } from "../components/bits.js";
import { Badge, Loading, Section } from "../components/bits.js";
import type { Column } from "../components/data-table.js";
import { DataTable } from "../components/data-table.js";
import { ErrorBanner, Notice } from "../components/error-banner.js";
import { navigate } from "../hooks/use-route.js";
import { useStream } from "../hooks/use-stream.js";
import { useDebounced } from "../hooks/use-timing.js";
import { formatConfigValue, truncate } from "../lib/format.js";
import { also } from "../lib/permissions.js";
import type { Route } from "../lib/router.js";
import { ConfigEditor } from "./config/config-editor.js";
import { ConfigHistory } from "./config/config-history.js";

type ConfigRoute = Extract<Route, { page: "config" }>;

const sourceTone = (source: string): Tone => (source === "default" ? "neutral" : source === "consul" ? "info" : source.startsWith("env:") ? "warn" : "ok");

/** The effective configuration with the source of every key (WatchConfig, live), one key's editor with validation as you type, and the history with diffs and rollback. */
export function ConfigPage({ route }: { readonly route: ConfigRoute }) {
  const app = useApp();
  const [config, setConfig] = useState<EffectiveConfig | undefined>(undefined);
  const stream = useStream<WatchConfigResponse>({
    name: "config",
    key: "config",
    open: (signal, onHeader) => app.clients.config.watchConfig({}, { signal, onHeader }),
    onMessage: (m) => {
      if (m.config) setConfig(m.config);
    },
  });

  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [text, setText] = useState(route.filter);
  const typed = useDebounced(text, 250);
  const last = useRef(route.filter);
  useEffect(() => {
    if (typed === last.current) return;
    last.current = typed;
    navigate({ ...route, filter: typed }, { replace: true });
  }, [typed]);
  useEffect(() => {
    if (route.filter !== last.current) {
      last.current = route.filter;
      setText(route.filter);
    }
  }, [route.filter]);

  const writable = config?.writable ?? false;
  const canEdit = also(app.can("editConfig"), writable, "The configuration is read-only here: no Consul is configured.");
  const canRollback = also(app.can("rollbackConfig"), writable, "The configuration is read-only here: no Consul is configured.");
  const needle = route.filter.trim().toLowerCase();
  const entries = useMemo(
    () => (config?.entries ?? []).filter((e) => needle === "" || e.path.toLowerCase().includes(needle) || e.source.toLowerCase().includes(needle) || (!e.secret && e.valueJson.toLowerCase().includes(needle))),
    [config, needle],
  );
  const edit = (path: string) => navigate({ ...route, key: path });

  const columns: Column<ConfigEntry>[] = [
    { key: "path", header: "Key", width: "34%", cell: (e) => <code>{e.path}</code> },
    { key: "value", header: "Value", cell: (e) => (e.secret ? <span class="muted">{"<redacted>"}</span> : <code title={e.valueJson}>{truncate(formatConfigValue(e.valueJson), 80)}</code>) },
    { key: "source", header: "Source", width: "11rem", cell: (e) => <Badge tone={sourceTone(e.source)}>{e.source}</Badge> },
    {
      key: "actions",
      header: "Actions",
      hiddenHeader: true,
      width: "5.5rem",
      cell: (e) => (
        <ActionButton small permission={e.secret ? also(canEdit, false, "Secrets are changed with `shoal config set` (encrypted), not here.") : canEdit} onClick={() => edit(e.path)} testid="config-edit" label={`Edit ${e.path}`}>
          Edit
        </ActionButton>
      ),
    },
  ];

  const editing = route.key;
  const current = editing !== undefined ? config?.entries.find((e) => e.path === editing) : undefined;

  return (
    <div class="page" data-testid="page-config">
      <div class="page-head">
        <h1>Configuration</h1>
        {config && (
          <span class="muted" data-testid="config-version">
            env <strong>{config.env}</strong> · version {String(config.version)} · {writable ? <Badge tone="ok">writable</Badge> : <Badge tone="neutral">read-only</Badge>}
          </span>
        )}
        <ActionButton permission={canEdit} onClick={() => edit("")} testid="config-add" small>
          Set a key…
        </ActionButton>
      </div>
      {stream.state === "retrying" && <ErrorBanner error={stream.error} title="The config stream failed" testid="config-error" />}
      <Notice text={notice} testid="config-saved" onDismiss={() => setNotice(undefined)} />
      {editing !== undefined && config && (
        <ConfigEditor
          key={editing}
          path={editing}
          entry={current}
          version={config.version}
          permission={canEdit}
          onClose={(saved) => {
            setNotice(saved);
            const { key: _k, ...rest } = route;
            navigate(rest);
          }}
        />
      )}
      <Section
        title="Effective configuration"
        testid="config-entries"
        tools={
          <>
            <label for="config-filter" class="inline-label">
              Filter
            </label>
            <input id="config-filter" class="input" type="search" value={text} placeholder="key, value or source" autoComplete="off" spellcheck={false} data-testid="config-filter" onInput={(e) => setText(e.currentTarget.value)} />
            <span class="muted" data-testid="config-count">
              {config ? `${entries.length} of ${config.entries.length}` : ""}
            </span>
          </>
        }
      >
        {!config ? <Loading what="the configuration" /> : <DataTable columns={columns} rows={entries} rowKey={(e) => e.path} caption="Effective configuration: every key, its value and the layer it came from" testid="config-table" rowAttrs={(e) => ({ "data-path": e.path })} empty="No key matches the filter." />}
      </Section>
      {config && <ConfigHistory version={config.version} permission={canRollback} />}
    </div>
  );
}
