/**
 * Structured log lines, as the node and the other logic write them (pino satisfies it; tests pass
 * a recorder). Secrets never go in `fields`: the production logger redacts known secret keys too.
 */
export interface LogFn {
  (fields: object, msg?: string): void;
  (msg: string): void;
}

/** A logger by level. */
export interface Log {
  readonly debug: LogFn;
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
}
