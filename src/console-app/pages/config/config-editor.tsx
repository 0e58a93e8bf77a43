import { useEffect, useRef, useState } from "preact/hooks";
import { Code } from "@connectrpc/connect";
import type { ConfigChange, ConfigEntry } from "../../../gen/shoal/v1/config_pb.js";
import { useApp } from "../../app-context.js";
import { ActionButton } from "../../components/action-button.js";
import { Badge, Section } from "../../components/bits.js";
import { ErrorBanner, Notice } from "../../components/error-banner.js";
import { useAction, useCall } from "../../hooks/use-call.js";
import { useDebounced } from "../../hooks/use-timing.js";
import { formatConfigValue, jsonToYamlInput } from "../../lib/format.js";
import type { Permission } from "../../lib/permissions.js";
import { also } from "../../lib/permissions.js";

export interface ConfigEditorProps {
  /** The key edited; "" lets the user type one. */
  readonly path: string;
  readonly entry: ConfigEntry | undefined;
  /** Version of the Consul document the editor started from (SetConfigKey's expected_version). */
  readonly version: bigint;
  readonly permission: Permission;
  /** Leaves the editor; `saved` tells what was written when it was. */
  readonly onClose: (saved?: string) => void;
}

/** Lists changes "path: before → after". */
export function ChangeList({ changes, testid }: { readonly changes: readonly ConfigChange[]; readonly testid: string }) {
  if (changes.length === 0) return <p class="muted">No change.</p>;
  return (
    <ul class="changes" data-testid={testid}>
      {changes.map((c) => (
        <li key={c.path}>
          <code>{c.path}</code>: <del>{c.beforeJson ? formatConfigValue(c.beforeJson) : "(unset)"}</del> → <ins>{c.afterJson ? formatConfigValue(c.afterJson) : "(removed)"}</ins>
        </li>
      ))}
    </ul>
  );
}

/**
 * One key's editor: ValidateConfigChange runs as the user types (debounced) and its messages show
 * before saving; Save (SetConfigKey with the version the editor started from, so a concurrent change
 * is refused, not overwritten) is enabled only for a valid value.
 */
export function ConfigEditor({ path: initialPath, entry, version, permission, onClose }: ConfigEditorProps) {
  const app = useApp();
  const [path, setPath] = useState(initialPath);
  const [value, setValue] = useState(entry ? jsonToYamlInput(entry.valueJson) : "");
  const [message, setMessage] = useState("");
  const [startVersion, setStartVersion] = useState(version);
  const save = useAction();
  const form = useRef<HTMLFormElement>(null);
  const pathInput = useRef<HTMLInputElement>(null);
  const valueInput = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    (initialPath ? valueInput : pathInput).current?.focus();
  }, []);

  const draft = `${path.trim()}\n${value}`;
  const settled = useDebounced(draft, 400);
  const ready = path.trim() !== "" && value.trim() !== "";
  const validation = useCall(ready && settled === draft ? `validate\n${settled}` : null, (signal) => app.clients.config.validateConfigChange({ path: path.trim(), valueYaml: value }, { signal }));
  const checked = validation.data && !validation.loading && settled === draft ? validation.data : undefined;
  const moved = version !== startVersion;

  const canSave = also(
    also(permission, ready, "Enter a key and a value."),
    checked?.valid === true && !moved,
    moved ? "The configuration changed since you started; review the value and confirm below." : checked === undefined ? "Waiting for the validator…" : "The validator refused this value.",
  );

  return (
    <Section title={initialPath ? `Edit ${initialPath}` : "Set a key"} testid="config-editor" id="config-editor">
      <form
        ref={form}
        class="editor"
        onSubmit={(e) => {
          e.preventDefault();
          if (!canSave.allowed) return;
          let saved = "";
          void save
            .run(async () => {
              const res = await app.clients.config.setConfigKey({ path: path.trim(), valueYaml: value, expectedVersion: startVersion, message: message.trim() });
              saved = `Saved ${path.trim()}: version ${res.version}.`;
            })
            .then((ok) => {
              if (ok) onClose(saved);
            });
        }}
      >
        <div class="field">
          <label for="config-editor-path">Key (dotted path)</label>
          <input
            id="config-editor-path"
            ref={pathInput}
            class="input mono"
            value={path}
            readOnly={initialPath !== ""}
            autoComplete="off"
            spellcheck={false}
            placeholder="e.g. detector.threshold"
            data-testid="config-editor-path"
            onInput={(e) => setPath(e.currentTarget.value)}
          />
          {entry && (
            <p class="muted small">
              Now <code>{formatConfigValue(entry.valueJson)}</code> from <Badge tone="neutral">{entry.source}</Badge>
              {entry.source.startsWith("env:") && " — an environment variable overrides Consul: a change here is stored but not effective."}
            </p>
          )}
        </div>
        <div class="field">
          <label for="config-editor-value">Value (YAML; null removes the key from Consul)</label>
          <textarea
            id="config-editor-value"
            ref={valueInput}
            class="input mono"
            rows={3}
            value={value}
            spellcheck={false}
            aria-describedby="config-validation"
            aria-invalid={checked?.valid === false ? "true" : undefined}
            data-testid="config-editor-value"
            onInput={(e) => setValue(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === "Escape") onClose();
              if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
                e.preventDefault();
                form.current?.requestSubmit();
              }
            }}
          />
        </div>
        <div id="config-validation" class="validation" aria-live="polite" data-testid="config-validation" data-valid={checked ? String(checked.valid) : undefined}>
          {!ready ? (
            <span class="muted">Type a value to check it.</span>
          ) : validation.error ? (
            <ErrorBanner error={validation.error} title="The validator could not be asked" testid="config-validation-error" />
          ) : checked === undefined ? (
            <span class="muted">Checking…</span>
          ) : checked.valid ? (
            <>
              <Badge tone="ok">valid</Badge>
              <ChangeList changes={checked.changes} testid="config-validation-changes" />
            </>
          ) : (
            <>
              <Badge tone="bad">invalid</Badge>
              <ul class="problems" data-testid="config-validation-problems">
                {checked.problems.map((p, i) => (
                  <li key={i}>
                    {p.path && <code>{p.path}</code>} {p.message}
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
        <div class="field">
          <label for="config-editor-message">Why (kept in the history)</label>
          <input id="config-editor-message" class="input" value={message} maxLength={512} data-testid="config-editor-message" onInput={(e) => setMessage(e.currentTarget.value)} />
        </div>
        {moved && <Notice text={`The configuration moved from version ${startVersion} to ${version} while you edited.`} testid="config-editor-moved" />}
        {moved && (
          <button type="button" class="btn btn-small" data-testid="config-editor-rebase" onClick={() => setStartVersion(version)}>
            Keep my value on version {String(version)}
          </button>
        )}
        <ErrorBanner
          error={save.error?.code === Code.Aborted ? "Someone changed the configuration since you started: nothing was saved. Review and save again." : save.error}
          title="Not saved"
          testid="config-save-error"
          onDismiss={save.clearError}
        />
        <div class="form-actions">
          <button type="button" class="btn" onClick={() => onClose()} data-testid="config-editor-cancel">
            Cancel
          </button>
          <ActionButton permission={canSave} pending={save.pending} variant="primary" testid="config-save" onClick={() => form.current?.requestSubmit()}>
            {save.pending ? "Saving…" : "Save"}
          </ActionButton>
        </div>
      </form>
    </Section>
  );
}
