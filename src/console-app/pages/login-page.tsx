import { useEffect, useRef, useState } from "preact/hooks";
import { ErrorBanner, Notice } from "../components/error-banner.js";

export interface LoginPageProps {
  /** Why we are here (a refused or revoked token), shown above the form. */
  readonly message: string | undefined;
  /** A neutral note ("Signed out."). */
  readonly info?: string | undefined;
  /** Stores the token and asks the server who it is; the app leaves this page on success. */
  readonly onSubmit: (token: string) => Promise<void>;
}

/** The token prompt. The token stays in this tab's sessionStorage only. */
export function LoginPage({ message, info, onSubmit }: LoginPageProps) {
  const [token, setToken] = useState("");
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    document.title = "Sign in · Shoal console";
    input.current?.focus();
  }, [message]);
  return (
    <main id="main" class="center-page" tabIndex={-1}>
      <form
        class="login card"
        data-testid="login-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (token.trim() === "" || busy) return;
          setBusy(true);
          void onSubmit(token.trim()).finally(() => setBusy(false));
        }}
      >
        <h1>Shoal console</h1>
        <p class="muted">Sign in with the access token you were given (console.tokens). It is kept for this browser tab only.</p>
        <ErrorBanner error={message} testid="login-error" />
        <Notice text={info} testid="login-info" />
        <div class="field">
          <label for="login-token">Access token</label>
          <input id="login-token" ref={input} type="password" autoComplete="off" spellcheck={false} required value={token} data-testid="login-token" onInput={(e) => setToken(e.currentTarget.value)} />
        </div>
        <button type="submit" class="btn btn-primary" disabled={busy || token.trim() === ""} data-testid="login-submit">
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
