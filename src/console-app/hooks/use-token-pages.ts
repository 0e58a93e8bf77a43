import { useCallback, useEffect, useState } from "preact/hooks";
import type { CallState } from "./use-call.js";
import { useCall } from "./use-call.js";

/** A page of a token-paged list (ListDevices, ListCommands, ListAuditEvents) and how to move. */
export interface TokenPages<T> extends CallState<T> {
  /** 1-based number of the page shown. */
  readonly pageNumber: number;
  readonly hasPrevious: boolean;
  readonly hasNext: boolean;
  readonly next: () => void;
  readonly previous: () => void;
}

/**
 * Pages of a list the services answer one page at a time with a `next_page_token`: the tokens of
 * the pages seen are kept so Previous works; a new `filterKey` starts at the first page again.
 */
export function useTokenPages<T extends { readonly nextPageToken: string }>(filterKey: string | null, load: (pageToken: string, signal: AbortSignal) => Promise<T>): TokenPages<T> {
  const [tokens, setTokens] = useState<readonly string[]>([""]);
  useEffect(() => setTokens([""]), [filterKey]);
  const token = tokens[tokens.length - 1] ?? "";
  const call = useCall(filterKey === null ? null : `${filterKey}#${token}`, (signal) => load(token, signal));
  const nextToken = call.data?.nextPageToken ?? "";
  const next = useCallback(() => {
    if (nextToken !== "") setTokens((t) => [...t, nextToken]);
  }, [nextToken]);
  const previous = useCallback(() => setTokens((t) => (t.length > 1 ? t.slice(0, -1) : t)), []);
  return { ...call, pageNumber: tokens.length, hasPrevious: tokens.length > 1, hasNext: nextToken !== "", next, previous };
}
