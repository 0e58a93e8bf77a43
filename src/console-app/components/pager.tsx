/** Previous / Next of a token-paged list, with the page number. */
export function Pager(props: { readonly pageNumber: number; readonly hasPrevious: boolean; readonly hasNext: boolean; readonly onPrevious: () => void; readonly onNext: () => void; readonly testid: string }) {
  if (!props.hasPrevious && !props.hasNext) return null;
  return (
    <nav class="form-row" aria-label="Pages" data-testid={props.testid}>
      <button type="button" class="btn btn-small" disabled={!props.hasPrevious} onClick={props.onPrevious} data-testid={`${props.testid}-previous`}>
        Previous
      </button>
      <span class="muted" data-testid={`${props.testid}-number`}>
        Page {props.pageNumber}
      </span>
      <button type="button" class="btn btn-small" disabled={!props.hasNext} onClick={props.onNext} data-testid={`${props.testid}-next`}>
        Next
      </button>
    </nav>
  );
}
