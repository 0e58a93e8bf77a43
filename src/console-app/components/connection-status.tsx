import { useEffect, useState } from "preact/hooks";
import type { ConnectionStore } from "../lib/connection-state.js";
import { summarize } from "../lib/connection-state.js";

/**
 * The state of the page's live streams in the header: a polite live region, so a screen reader
 * hears "Reconnecting: …" and "Live" when they change, not every snapshot.
 */
export function ConnectionStatus({ store }: { readonly store: ConnectionStore }) {
  const [summary, setSummary] = useState(() => summarize(store.statuses(), navigator.onLine));
  useEffect(() => {
    const update = () => {
      const next = summarize(store.statuses(), navigator.onLine);
      setSummary((prev) => (prev.level === next.level && prev.text === next.text ? prev : next));
    };
    const unsubscribe = store.subscribe(update);
    window.addEventListener("online", update);
    window.addEventListener("offline", update);
    update();
    return () => {
      unsubscribe();
      window.removeEventListener("online", update);
      window.removeEventListener("offline", update);
    };
  }, [store]);
  return (
    <div class={`conn conn-${summary.level}`} role="status" aria-live="polite" data-testid="connection-status" data-level={summary.level}>
      <span class="conn-dot" aria-hidden="true" />
      <span class="conn-text">{summary.text}</span>
    </div>
  );
}
