import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ErrorBanner } from "./error-banner.js";

/**
 * A page whose code is loaded when it is first shown (esbuild puts it in a chunk of its own: the
 * fleet page, the one a console opens on, loads and runs without the others). Loaded once per
 * page load; "Loading…" meanwhile, an error with Retry when the chunk cannot be fetched.
 */
export function lazyPage<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | undefined;
  let pending: Promise<ComponentType<P>> | undefined;
  const get = () =>
    (pending ??= load().then(
      (c) => (loaded = c),
      (e: unknown) => {
        pending = undefined;
        throw e;
      },
    ));
  return function LazyPage(props: P) {
    const [page, setPage] = useState<{ readonly c: ComponentType<P> | undefined }>({ c: loaded });
    const [error, setError] = useState<unknown>(undefined);
    const [attempt, setAttempt] = useState(0);
    useEffect(() => {
      if (page.c !== undefined) return;
      let live = true;
      get().then(
        (c) => live && setPage({ c }),
        (e: unknown) => live && setError(e),
      );
      return () => {
        live = false;
      };
    }, [attempt]);
    if (page.c !== undefined) return <page.c {...props} />;
    if (error !== undefined)
      return (
        <ErrorBanner
          error={error instanceof Error ? error.message : String(error)}
          title="This page's code could not be loaded"
          testid="page-load-error"
          onRetry={() => {
            setError(undefined);
            setAttempt((n) => n + 1);
          }}
        />
      );
    return (
      <p class="muted" role="status" data-testid="page-loading">
        Loading…
      </p>
    );
  };
}
