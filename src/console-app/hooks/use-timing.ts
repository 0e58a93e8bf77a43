import { useEffect, useState } from "preact/hooks";

/**
 * The time now, re-read every `everyMs` (for "12 s ago" labels; a render timer, no server call).
 * Paused while the tab is hidden.
 */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => {
      if (document.visibilityState !== "hidden") setNow(Date.now());
    }, everyMs);
    return () => clearInterval(id);
  }, [everyMs]);
  return now;
}

/** `value` once it stopped changing for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}
