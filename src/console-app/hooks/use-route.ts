import { useEffect, useState } from "preact/hooks";
import type { Route } from "../lib/router.js";
import { formatRoute, parseHash } from "../lib/router.js";

/** The route of the current location hash, updated on Back/Forward and link clicks. */
export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(() => parseHash(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(window.location.hash));
    window.addEventListener("hashchange", onChange);
    window.addEventListener("popstate", onChange);
    return () => {
      window.removeEventListener("hashchange", onChange);
      window.removeEventListener("popstate", onChange);
    };
  }, []);
  return route;
}

/**
 * Goes to `route`. `replace` rewrites the current history entry instead of adding one (filters
 * typed letter by letter must not fill Back with every keystroke).
 */
export function navigate(route: Route, opts: { replace?: boolean } = {}): void {
  const hash = formatRoute(route);
  if (hash === window.location.hash) return;
  if (opts.replace) {
    window.history.replaceState(window.history.state, "", hash);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    window.location.hash = hash;
  }
}
