import type { ComponentChildren } from "preact";
import type { Num } from "../lib/format.js";
import { formatAgo, formatTime, isoTime } from "../lib/format.js";

/** A time as <time>, local and compact, the ISO time as its title; `ago` shows "12 s ago" instead. */
export function Time({ ms, now, ago }: { readonly ms: Num; readonly now?: number; readonly ago?: boolean }) {
  const iso = isoTime(ms);
  if (iso === "") return <span class="muted">–</span>;
  const text = ago && now !== undefined ? formatAgo(ms, now) : formatTime(ms, now !== undefined ? { nowMs: now } : {});
  return (
    <time dateTime={iso} title={iso}>
      {text}
    </time>
  );
}

export type Tone = "ok" | "warn" | "bad" | "info" | "neutral";

/** A small label with a tone; the text always says it (colour is never the only cue). */
export function Badge({ tone, children, testid }: { readonly tone: Tone; readonly children: ComponentChildren; readonly testid?: string }) {
  return (
    <span class={`badge badge-${tone}`} data-testid={testid}>
      {children}
    </span>
  );
}

/** A section of a page with its heading (h2) and optional tools beside it. */
export function Section(props: { readonly title: string; readonly children: ComponentChildren; readonly tools?: ComponentChildren; readonly testid?: string; readonly id?: string }) {
  const headingId = `${props.id ?? props.title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-h`;
  return (
    <section class="section" aria-labelledby={headingId} data-testid={props.testid} id={props.id}>
      <div class="section-head">
        <h2 id={headingId}>{props.title}</h2>
        {props.tools && <div class="section-tools">{props.tools}</div>}
      </div>
      {props.children}
    </section>
  );
}

/** "Loading…" announced politely while a first answer is awaited. */
export function Loading({ what, testid = "loading" }: { readonly what: string; readonly testid?: string }) {
  return (
    <p class="muted loading" role="status" data-testid={testid}>
      Loading {what}…
    </p>
  );
}

/** A definition list of label/value pairs: two dense columns, or a grid of small cards. */
export function Facts({ items, testid, cards }: { readonly items: ReadonlyArray<readonly [string, ComponentChildren, string?]>; readonly testid?: string; readonly cards?: boolean }) {
  return (
    <dl class={cards ? "facts facts-cards" : "facts"} data-testid={testid}>
      {items.map(([k, v, id]) => (
        <div key={k} class="fact">
          <dt>{k}</dt>
          <dd data-testid={id}>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
