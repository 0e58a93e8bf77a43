/** Opaque handle of a scheduled callback. */
export type TimerHandle = { readonly __timer: unique symbol } | number | object;

/**
 * Source of time and timers. Runtime and actors never call Date.now()/setTimeout directly,
 * so tests drive time with a simulated clock.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Run `fn` after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancel a callback scheduled with setTimeout; unknown handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}
