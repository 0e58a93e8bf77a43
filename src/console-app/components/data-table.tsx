import type { ComponentChildren } from "preact";

/** One column of a table. */
export interface Column<T> {
  readonly key: string;
  readonly header: ComponentChildren;
  readonly cell: (row: T, index: number) => ComponentChildren;
  /** Right-aligned, tabular figures. */
  readonly numeric?: boolean;
  /** CSS width, e.g. "9rem". */
  readonly width?: string;
  /** Header shown to screen readers only (e.g. an actions column). */
  readonly hiddenHeader?: boolean;
}

export interface DataTableProps<T> {
  readonly columns: ReadonlyArray<Column<T>>;
  readonly rows: readonly T[];
  readonly rowKey: (row: T) => string;
  /** The table's caption (screen readers; shown when `showCaption`). */
  readonly caption: string;
  readonly showCaption?: boolean;
  readonly testid: string;
  /** data-testid of every row; default `${testid}-row`. */
  readonly rowTestid?: string;
  /** Extra attributes of a row (class, data-*). */
  readonly rowAttrs?: (row: T) => Record<string, string | undefined>;
  /** Shown in place of rows when there are none. */
  readonly empty?: ComponentChildren;
}

/** A semantic table (caption, th scope=col), dense, with stable test ids on the table and rows. */
export function DataTable<T>(props: DataTableProps<T>) {
  const rowTestid = props.rowTestid ?? `${props.testid}-row`;
  return (
    <div class="table-wrap">
      <table class="table" data-testid={props.testid}>
        <caption class={props.showCaption ? "table-caption" : "visually-hidden"}>{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th key={c.key} scope="col" class={c.numeric ? "num" : undefined} style={c.width ? { width: c.width } : undefined}>
                {c.hiddenHeader ? <span class="visually-hidden">{c.header}</span> : c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.length === 0 ? (
            <tr>
              <td colSpan={props.columns.length} class="empty" data-testid={`${props.testid}-empty`}>
                {props.empty ?? "Nothing to show."}
              </td>
            </tr>
          ) : (
            props.rows.map((row, i) => {
              const attrs = props.rowAttrs?.(row) ?? {};
              return (
                <tr key={props.rowKey(row)} data-testid={rowTestid} data-key={props.rowKey(row)} {...attrs}>
                  {props.columns.map((c) => (
                    <td key={c.key} class={c.numeric ? "num" : undefined}>
                      {c.cell(row, i)}
                    </td>
                  ))}
                </tr>
              );
            })
          )}
        </tbody>
      </table>
    </div>
  );
}
