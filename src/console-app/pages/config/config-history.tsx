import { useState } from "preact/hooks";
import type { ConfigVersion } from "../../../gen/shoal/v1/config_pb.js";
import { useApp } from "../../app-context.js";
import { ActionButton } from "../../components/action-button.js";
import { Loading, Section, Time } from "../../components/bits.js";
import { ConfirmDialog } from "../../components/confirm-dialog.js";
import type { Column } from "../../components/data-table.js";
import { DataTable } from "../../components/data-table.js";
import { ErrorBanner, Notice } from "../../components/error-banner.js";
import { useAction, useCall } from "../../hooks/use-call.js";
import type { Permission } from "../../lib/permissions.js";
import { also } from "../../lib/permissions.js";
import { ChangeList } from "./config-editor.js";

export interface ConfigHistoryProps {
  /** The current version: the history is reloaded when it moves. */
  readonly version: bigint;
  readonly permission: Permission;
}

/** Versions of the Consul document, newest first; each one's changes on demand (DiffConfig) and a confirmed rollback to it. */
export function ConfigHistory({ version, permission }: ConfigHistoryProps) {
  const app = useApp();
  const history = useCall(`history|${version}`, (signal) => app.clients.config.listConfigHistory({}, { signal }));
  const versions = history.data?.versions ?? [];
  const [shown, setShown] = useState<bigint | undefined>(undefined);
  const [rollingBack, setRollingBack] = useState<ConfigVersion | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const rollback = useAction();
  const previous = (v: bigint) => versions.find((x) => x.version < v)?.version;
  const shownFrom = shown !== undefined ? previous(shown) : undefined;
  const diff = useCall(shown !== undefined && shownFrom !== undefined ? `diff|${shownFrom}|${shown}` : null, (signal) => app.clients.config.diffConfig({ fromVersion: shownFrom!, toVersion: shown! }, { signal }));

  const columns: Column<ConfigVersion>[] = [
    { key: "v", header: "Version", numeric: true, width: "7rem", cell: (v) => (v.version === version ? <strong class="nowrap">{String(v.version)} (current)</strong> : String(v.version)) },
    { key: "at", header: "When", width: "11rem", cell: (v) => <Time ms={v.atMs} /> },
    { key: "author", header: "Author", width: "9rem", cell: (v) => v.author || <span class="muted">–</span> },
    { key: "message", header: "Message", cell: (v) => v.message || <span class="muted">–</span> },
    {
      key: "actions",
      header: "Actions",
      hiddenHeader: true,
      width: "12rem",
      cell: (v) => (
        <div class="row-actions">
          <button
            type="button"
            class="btn btn-small"
            aria-expanded={shown === v.version}
            aria-controls="config-diff-view"
            disabled={previous(v.version) === undefined}
            title={previous(v.version) === undefined ? "The first version: nothing to compare with." : undefined}
            data-testid="config-diff"
            onClick={() => setShown(shown === v.version ? undefined : v.version)}
          >
            {shown === v.version ? "Hide changes" : "Changes"}
          </button>
          <ActionButton small variant="quiet" permission={also(permission, v.version !== version, "This is the current version.")} onClick={() => setRollingBack(v)} testid="config-rollback" label={`Roll back to version ${v.version}`}>
            Roll back
          </ActionButton>
        </div>
      ),
    },
  ];

  return (
    <Section title="History" testid="config-history-section">
      <Notice text={notice} testid="config-rollback-done" onDismiss={() => setNotice(undefined)} />
      <ErrorBanner error={history.error} title="Could not load the history" testid="config-history-error" onRetry={history.reload} />
      {shown !== undefined && (
        <div id="config-diff-view" class="diff card" data-testid="config-diff-view" aria-live="polite">
          <h3>
            Changes from version {String(shownFrom)} to {String(shown)}
          </h3>
          <ErrorBanner error={diff.error} title="Could not diff" testid="config-diff-error" onRetry={diff.reload} />
          {diff.loading ? <Loading what="the changes" /> : <ChangeList changes={diff.data?.changes ?? []} testid="config-diff-changes" />}
        </div>
      )}
      {history.loading && versions.length === 0 ? (
        <Loading what="the history" />
      ) : (
        <div class="scroll-y">
          <DataTable columns={columns} rows={versions} rowKey={(v) => String(v.version)} caption="Versions of the configuration document, newest first" testid="config-history" rowAttrs={(v) => ({ "data-version": String(v.version) })} empty="No history (no Consul document yet)." />
        </div>
      )}
      {rollingBack && (
        <ConfirmDialog
          title={`Roll back to version ${rollingBack.version}?`}
          confirmLabel="Roll back"
          danger
          reason={{ label: "Why (kept in the history)" }}
          pending={rollback.pending}
          error={rollback.error}
          testid="config-rollback-dialog"
          onConfirm={(why) =>
            rollback
              .run(async () => {
                const res = await app.clients.config.rollbackConfig({ version: rollingBack.version, message: why || `rollback to ${rollingBack.version}` });
                setNotice(`Rolled back: version ${res.version} has the content of version ${rollingBack.version} (${res.changes.length} change${res.changes.length === 1 ? "" : "s"}).`);
              })
              .then((ok) => ok)
          }
          onClose={() => {
            rollback.clearError();
            setRollingBack(undefined);
          }}
        >
          <p>
            Version {String(rollingBack.version)} ({rollingBack.message || "no message"}, by {rollingBack.author || "?"}) is written back as a new version, validated first. Every process applies it within
            seconds.
          </p>
        </ConfirmDialog>
      )}
    </Section>
  );
}
