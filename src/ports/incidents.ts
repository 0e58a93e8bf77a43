/**
 * Incidents: things that went wrong with the platform's own machinery (the journal lost a stream,
 * ClickHouse lost acknowledged rows, a publish got no answer) as opposed to bad input. Every
 * incident is loud: an error-level log line, a metric, a degraded health state for a while, and an
 * event on the platform's own subject (docs/durability.md).
 */
export interface Incident {
  /** Stable kind, dotted: `journal.stream-missing`, `store.rows-missing`, … */
  readonly kind: string;
  /** One sentence for an operator: what happened and what was done about it. */
  readonly message: string;
  /** What can be known of the loss and the repair (counts, sequences, names). Never secrets. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** Where incidents go. */
export interface IncidentReporter {
  report(incident: Incident): void;
  /** Kinds reported within the degraded window, newest first ("" when healthy). */
  degradedReason(): string;
}

/** Reports nothing (unit tests of logic that does not care). */
export const noIncidents: IncidentReporter = { report() {}, degradedReason: () => "" };
