import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import type { CallError } from "../api/errors.js";
import { ErrorBanner } from "./error-banner.js";

export interface ConfirmDialogProps {
  readonly title: string;
  /** What will happen, in a sentence or two. */
  readonly children: ComponentChildren;
  readonly confirmLabel: string;
  /** Runs the command; the dialog closes when it resolves true, and stays open with the error otherwise. */
  readonly onConfirm: (reason: string) => Promise<boolean>;
  readonly onClose: () => void;
  readonly danger?: boolean;
  readonly pending?: boolean;
  readonly error?: CallError;
  /** Ask for a reason (kept in the alert's history / the config history). */
  readonly reason?: { readonly label: string; readonly required?: boolean; readonly initial?: string };
  readonly testid?: string;
}

/**
 * A modal confirmation on the native <dialog> (focus kept inside, Escape cancels): focus moves to
 * the reason field or the confirm button, Enter confirms, and focus returns to the control that
 * opened it. Mount it to open it.
 */
export function ConfirmDialog(props: ConfirmDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const bodyId = useId();
  const reasonId = useId();
  const [reason, setReason] = useState(props.reason?.initial ?? "");
  const testid = props.testid ?? "confirm-dialog";

  useEffect(() => {
    const dialog = ref.current;
    if (dialog === null) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!dialog.open) dialog.showModal();
    const first = dialog.querySelector<HTMLElement>("[data-autofocus]");
    first?.focus();
    return () => {
      if (dialog.open) dialog.close();
      // The opener may be gone (a row that left the list): then the main landmark takes focus.
      if (opener?.isConnected) opener.focus();
      else document.getElementById("main")?.focus();
    };
  }, []);

  const blocked = props.pending || (props.reason?.required === true && reason.trim() === "");

  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-labelledby={titleId}
      aria-describedby={bodyId}
      data-testid={testid}
      onCancel={(e) => {
        e.preventDefault();
        if (!props.pending) props.onClose();
      }}
    >
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (blocked) return;
          void props.onConfirm(reason.trim()).then((ok) => {
            if (ok) props.onClose();
          });
        }}
      >
        <h2 id={titleId} class="dialog-title">
          {props.title}
        </h2>
        <div id={bodyId} class="dialog-body">
          {props.children}
        </div>
        {props.reason && (
          <div class="field">
            <label for={reasonId}>
              {props.reason.label}
              {!props.reason.required && <span class="muted"> (optional)</span>}
            </label>
            <textarea
              id={reasonId}
              rows={2}
              maxLength={1024}
              value={reason}
              data-autofocus
              data-testid={`${testid}-reason`}
              onInput={(e) => setReason(e.currentTarget.value)}
              onKeyDown={(e) => {
                // Enter confirms, Shift+Enter breaks the line.
                if (e.key === "Enter" && !e.shiftKey) {
                  e.preventDefault();
                  e.currentTarget.form?.requestSubmit();
                }
              }}
            />
          </div>
        )}
        <ErrorBanner error={props.error} title="Failed" testid={`${testid}-error`} />
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={props.onClose} disabled={props.pending} data-testid={`${testid}-cancel`}>
            Cancel
          </button>
          <button type="submit" class={`btn ${props.danger ? "btn-danger" : "btn-primary"}`} disabled={blocked} data-testid={`${testid}-confirm`} {...(props.reason ? {} : { "data-autofocus": true })}>
            {props.pending ? "Working…" : props.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
