import type { ReportFigures } from "./figures.js";
import type { Period } from "./periods.js";
import type { ReportScope } from "./schedule.js";

/** What a report reads: the scope, the period and how many top devices to name. */
export interface FiguresQuery {
  readonly scope: ReportScope;
  readonly period: Period;
  /** Devices with the highest anomaly scores to list. */
  readonly topDevices: number;
}

/** Where reports read their figures and find the reports already stored (ClickHouse in production). */
export interface ReportStore {
  /** The start (ms) of the newest stored period of each report kind (schedule name). */
  lastPeriods(signal?: AbortSignal): Promise<Map<string, number>>;
  /** True when the report `reportId` of `kind` is stored. */
  exists(kind: string, reportId: string, signal?: AbortSignal): Promise<boolean>;
  /** Everything stored about the scope in the period: readings rollups, analyses, alert transitions. */
  figures(q: FiguresQuery, signal?: AbortSignal): Promise<ReportFigures>;
}
