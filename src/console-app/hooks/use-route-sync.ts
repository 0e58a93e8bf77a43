import { useEffect, useRef } from "preact/hooks";

/**
 * Runs `apply` when `key` (the route's values a form shows) changes after the first render — Back,
 * a link — and not at mount: the form's state starts from the route already, and an effect run at
 * mount comes after the first paint, so it would wipe what was typed in between (a browser test
 * that filled the search box at once found its text gone and the button disabled).
 */
export function useRouteSync(key: string, apply: () => void): void {
  const seen = useRef(key);
  useEffect(() => {
    if (key === seen.current) return;
    seen.current = key;
    apply();
  }, [key]);
}
