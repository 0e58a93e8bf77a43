import type { ComponentChildren } from "preact";
import { useId } from "preact/hooks";
import type { Permission } from "../lib/permissions.js";

export interface ActionButtonProps {
  /** Whether the caller may (and why not). */
  readonly permission: Permission;
  readonly onClick: () => void;
  readonly children: ComponentChildren;
  readonly testid: string;
  /** A request of it is running: natively disabled meanwhile. */
  readonly pending?: boolean;
  readonly variant?: "primary" | "danger" | "default" | "quiet";
  readonly small?: boolean;
  /** Accessible name when the visible text is not enough ("Acknowledge alert d-1/high/3"). */
  readonly label?: string;
  readonly title?: string;
}

/**
 * A command button that the caller's role may forbid. A forbidden one stays focusable but inert
 * (aria-disabled), so keyboard and screen-reader users reach it and hear why: the reason is its
 * title and its description.
 */
export function ActionButton(props: ActionButtonProps) {
  const id = useId();
  const { permission } = props;
  const forbidden = !permission.allowed;
  const cls = ["btn", props.variant && props.variant !== "default" ? `btn-${props.variant}` : "", props.small ? "btn-small" : ""].filter(Boolean).join(" ");
  return (
    <>
      <button
        type="button"
        class={cls}
        data-testid={props.testid}
        aria-label={props.label}
        aria-disabled={forbidden ? "true" : undefined}
        aria-describedby={forbidden ? id : undefined}
        data-disabled-reason={forbidden ? permission.reason : undefined}
        title={forbidden ? permission.reason : props.title}
        disabled={props.pending}
        aria-busy={props.pending ? "true" : undefined}
        onClick={(e) => {
          if (forbidden) {
            e.preventDefault();
            return;
          }
          props.onClick();
        }}
      >
        {props.children}
      </button>
      {forbidden && (
        <span id={id} class="visually-hidden">
          {permission.reason}
        </span>
      )}
    </>
  );
}
