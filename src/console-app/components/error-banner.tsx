import type { CallError } from "../api/errors.js";

export interface ErrorBannerProps {
  /** The failure (a call's error or a sentence); nothing is rendered when undefined. */
  readonly error: CallError | string | undefined;
  /** What failed, e.g. "Could not load the devices". */
  readonly title?: string;
  readonly onRetry?: () => void;
  readonly onDismiss?: () => void;
  /** data-testid; default "error-banner". */
  readonly testid?: string;
}

/** A failure the user should see, announced by screen readers (role=alert), with Retry/Dismiss when given. */
export function ErrorBanner({ error, title, onRetry, onDismiss, testid = "error-banner" }: ErrorBannerProps) {
  if (error === undefined) return null;
  const text = typeof error === "string" ? error : error.message;
  const code = typeof error === "string" ? undefined : error.codeName;
  return (
    <div class="banner banner-error" role="alert" data-testid={testid} data-code={code}>
      <div class="banner-text">
        {title && <strong>{title}: </strong>}
        <span data-testid={`${testid}-message`}>{text}</span>
        {code && <span class="muted"> ({code})</span>}
      </div>
      {onRetry && (
        <button type="button" class="btn btn-small" onClick={onRetry}>
          Retry
        </button>
      )}
      {onDismiss && (
        <button type="button" class="btn btn-small btn-quiet" onClick={onDismiss} aria-label="Dismiss the error">
          Dismiss
        </button>
      )}
    </div>
  );
}

/** A neutral notice (e.g. "accepted; the actor applies it shortly"), announced politely. */
export function Notice({ text, testid = "notice", onDismiss }: { readonly text: string | undefined; readonly testid?: string; readonly onDismiss?: () => void }) {
  if (!text) return null;
  return (
    <div class="banner banner-info" role="status" data-testid={testid}>
      <div class="banner-text">{text}</div>
      {onDismiss && (
        <button type="button" class="btn btn-small btn-quiet" onClick={onDismiss} aria-label="Dismiss the notice">
          Dismiss
        </button>
      )}
    </div>
  );
}
