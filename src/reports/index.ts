/** Scheduled AI reports (docs/adr/0017-reports.md): public surface. */
export { validateSchedule, scopeKey, scopeLabel, globToRegex, inScope } from "./schedule.js";
export type { ReportSchedule, ReportScope, ReportsOptions } from "./schedule.js";
export { periodAt, dueAt, newestDueFrom, nextDueAt, duePeriods, reportIdOf, parsePeriodStart } from "./periods.js";
export type { Period } from "./periods.js";
export { buildItems, reportBody, reportTitle, metricFigures, fmt } from "./figures.js";
export type { AlertFigures, MetricFigures, ReportFigures, TopDevice } from "./figures.js";
export type { FiguresQuery, ReportStore } from "./report-store.js";
export { createSqlReportStore } from "./sql-report-store.js";
export type { SqlAccess } from "./sql-report-store.js";
export { ReportGenerator } from "./generator.js";
export type { GenerateOutcome, ReportGeneratorDeps, ReportGeneratorOptions } from "./generator.js";
export { ReportScheduler } from "./scheduler.js";
export type { ReportSchedulerDeps, ReportSchedulerOptions, ReportSchedulerStats } from "./scheduler.js";
