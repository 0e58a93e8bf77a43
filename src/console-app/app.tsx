import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { GetInfoResponse } from "../gen/shoal/v1/admin_pb.js";
import type { AppServices } from "./app-context.js";
import { AppContext } from "./app-context.js";
import { createClients } from "./api/clients.js";
import type { CallError } from "./api/errors.js";
import { isUnauthenticated, toCallError } from "./api/errors.js";
import type { TokenStore } from "./api/session.js";
import { GET_INFO_TIMEOUT_MS } from "./api/early-calls.js";
import { createConsoleTransport } from "./api/session.js";
import { ErrorBanner } from "./components/error-banner.js";
import { Shell } from "./shell.js";
import { createConnectionStore } from "./lib/connection-state.js";
import { parseRole, permission } from "./lib/permissions.js";
import { LoginPage } from "./pages/login-page.js";

type Phase =
  | { readonly kind: "checking" }
  | { readonly kind: "login"; readonly message?: string; readonly info?: string }
  | { readonly kind: "unreachable"; readonly error: CallError }
  | { readonly kind: "ready"; readonly info: GetInfoResponse };

export interface AppProps {
  readonly baseUrl: string;
  readonly tokens: TokenStore;
  /** The fetch of the app's calls (main.tsx: the one that hands over what boot.ts asked early); default globalThis.fetch. */
  readonly fetch?: typeof globalThis.fetch;
}

/**
 * The console: asks GetInfo who we are (first with the stored token, or none — a server that
 * checks no tokens answers anonymous/admin and the login is skipped), then shows the pages with
 * what the caller's role allows. Any Unauthenticated answer returns to the login form.
 */
export function App({ baseUrl, tokens, fetch }: AppProps) {
  const [phase, setPhase] = useState<Phase>({ kind: "checking" });
  const ready = useRef(false);
  ready.current = phase.kind === "ready";

  const expire = useCallback(
    (e: unknown) => {
      tokens.clear();
      setPhase({ kind: "login", message: `Signed out: ${toCallError(e).message}` });
    },
    [tokens],
  );

  const transport = useMemo(
    () =>
      createConsoleTransport({
        baseUrl,
        tokens,
        onUnauthenticated: (e) => {
          if (ready.current) expire(e);
        },
        ...(fetch ? { fetch } : {}),
      }),
    [baseUrl, tokens, expire, fetch],
  );
  const clients = useMemo(() => createClients(transport), [transport]);
  const connection = useMemo(() => createConnectionStore(), []);

  const identify = useCallback(
    async (fromLogin: boolean) => {
      const hadToken = tokens.get() !== "";
      try {
        const info = await clients.admin.getInfo({}, { timeoutMs: GET_INFO_TIMEOUT_MS });
        setPhase({ kind: "ready", info });
      } catch (e) {
        if (isUnauthenticated(e)) {
          tokens.clear();
          const message = hadToken ? (fromLogin ? toCallError(e).message : `Your saved token was refused: ${toCallError(e).message}`) : undefined;
          setPhase(message === undefined ? { kind: "login" } : { kind: "login", message });
        } else {
          setPhase({ kind: "unreachable", error: toCallError(e) });
        }
      }
    },
    [clients, tokens],
  );

  useEffect(() => {
    void identify(false);
  }, [identify]);

  const services = useMemo<AppServices | null>(() => {
    if (phase.kind !== "ready") return null;
    const role = parseRole(phase.info.callerRole);
    return {
      clients,
      connection,
      caller: { name: phase.info.callerName || "anonymous", role },
      nodeId: phase.info.nodeId,
      can: (action) => permission(role, action),
      onUnauthenticated: expire,
    };
  }, [phase, clients, connection, expire]);

  switch (phase.kind) {
    case "checking":
      return (
        <main id="main" class="center-page" tabIndex={-1}>
          <p class="muted" role="status" data-testid="app-checking">
            Connecting to Shoal…
          </p>
        </main>
      );
    case "unreachable":
      return (
        <main id="main" class="center-page" tabIndex={-1}>
          <h1>Shoal console</h1>
          <ErrorBanner error={phase.error} title="The console's server did not answer" testid="startup-error" onRetry={() => void identify(false)} />
        </main>
      );
    case "login":
      return (
        <LoginPage
          message={phase.message}
          info={phase.info}
          onSubmit={async (token) => {
            tokens.set(token);
            await identify(true);
          }}
        />
      );
    case "ready":
      return (
        <AppContext.Provider value={services}>
          <Shell
            info={phase.info}
            signedIn={tokens.get() !== ""}
            onSignOut={() => {
              tokens.clear();
              setPhase({ kind: "login", info: "Signed out." });
            }}
          />
        </AppContext.Provider>
      );
  }
}
