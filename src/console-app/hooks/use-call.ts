import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import type { CallError } from "../api/errors.js";
import { isCancel, toCallError } from "../api/errors.js";

export interface CallState<T> {
  readonly data: T | undefined;
  readonly error: CallError | undefined;
  readonly loading: boolean;
  /** Runs the call again (same key). */
  readonly reload: () => void;
}

/**
 * A unary call whose answer the page shows: run when `key` changes (null: not now), the previous
 * one cancelled, so a fast typist or a page change never sees a stale answer.
 */
export function useCall<T>(key: string | null, run: (signal: AbortSignal) => Promise<T>): CallState<T> {
  const [state, setState] = useState<{ data: T | undefined; error: CallError | undefined; loading: boolean }>({ data: undefined, error: undefined, loading: key !== null });
  const [nonce, setNonce] = useState(0);
  const runRef = useRef(run);
  runRef.current = run;
  useEffect(() => {
    if (key === null) {
      setState({ data: undefined, error: undefined, loading: false });
      return;
    }
    const ac = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    runRef.current(ac.signal).then(
      (data) => {
        if (!ac.signal.aborted) setState({ data, error: undefined, loading: false });
      },
      (e: unknown) => {
        if (!isCancel(e, ac.signal)) setState((s) => ({ data: s.data, error: toCallError(e), loading: false }));
      },
    );
    return () => ac.abort();
  }, [key, nonce]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { ...state, reload };
}

export interface ActionState {
  readonly pending: boolean;
  readonly error: CallError | undefined;
  /** Runs `fn`; resolves true when it succeeded. One at a time. */
  readonly run: (fn: () => Promise<unknown>) => Promise<boolean>;
  readonly clearError: () => void;
}

/** A command the user starts (acknowledge, drain, save): pending while it runs, its error kept to show. */
export function useAction(): ActionState {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<CallError | undefined>(undefined);
  const busy = useRef(false);
  const mounted = useRef(true);
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );
  const run = useCallback(async (fn: () => Promise<unknown>) => {
    if (busy.current) return false;
    busy.current = true;
    setPending(true);
    setError(undefined);
    try {
      await fn();
      return true;
    } catch (e) {
      if (mounted.current) setError(toCallError(e));
      return false;
    } finally {
      busy.current = false;
      if (mounted.current) setPending(false);
    }
  }, []);
  const clearError = useCallback(() => setError(undefined), []);
  return { pending, error, run, clearError };
}
