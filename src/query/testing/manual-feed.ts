import type { RowFeed, RowInterest } from "../../ports/row-feed.js";
import type { Row } from "../../ports/row-sink.js";

/** A RowFeed driven by hand in unit tests: `listener` is the subscriber, `only` what it asked for. */
export class ManualFeed implements RowFeed {
  listener: ((table: string, rows: readonly Row[]) => void) | undefined;
  only: RowInterest | undefined;
  subscribe(l: (table: string, rows: readonly Row[]) => void, only?: RowInterest) {
    this.listener = l;
    this.only = only;
    return () => (this.listener = undefined);
  }
}
