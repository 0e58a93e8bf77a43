import type { Clock } from "../ports/clock.js";
import type { ModelGateway } from "../ports/gateway.js";
import type { Row, RowSink } from "../ports/row-sink.js";
import { abortError } from "../base/clock.js";
import { ShoalError } from "../base/errors.js";
import { rowBatchOf } from "../domain/row-batch.js";
import { REPORTS_TABLE } from "../domain/tables.js";
import { buildItems, reportBody, reportTitle } from "./figures.js";
import { periodAt, reportIdOf } from "./periods.js";
import type { ReportStore } from "./report-store.js";
import { scopeKey, type ReportSchedule } from "./schedule.js";

/** Dependencies of a report generator. */
export interface ReportGeneratorDeps {
  readonly store: ReportStore;
  /** The model gateway (in-process or its gRPC client): only Summarize is used. */
  readonly gateway: Pick<ModelGateway, "summarize">;
  /** Where report rows go (the store path: ClickHouse and the row log, so the vector indexer sees them). */
  readonly sink: RowSink;
  readonly clock: Clock;
}

/** Options of a report generator. */
export interface ReportGeneratorOptions {
  /** How long Summarize may take, ms (its deadline). Default 60 000. */
  readonly summarizeTimeoutMs?: number;
  /** Devices with the highest anomaly scores named in a report. Default 5. */
  readonly topDevices?: number;
}

/** What became of one (schedule, period). */
export interface GenerateOutcome {
  readonly reportId: string;
  /** `exists`: it was stored already (nothing done); `written`: generated and stored now. */
  readonly status: "exists" | "written";
  readonly row?: Row;
}

/**
 * Generates the report of one (schedule, period): skipped when ClickHouse has it already (its id
 * is deterministic); else the figures of the period and scope are read, summarised by the model
 * gateway (with a deadline) and the row written through the sink. `signal` aborts it (a deposed
 * leader): nothing is written once it is aborted. Two generators racing on one period both write
 * the same key, which the table's ReplacingMergeTree collapses.
 */
export class ReportGenerator {
  private readonly timeoutMs: number;
  private readonly top: number;

  constructor(
    private readonly d: ReportGeneratorDeps,
    o: ReportGeneratorOptions = {},
  ) {
    this.timeoutMs = o.summarizeTimeoutMs ?? 60_000;
    this.top = o.topDevices ?? 5;
  }

  /** Generates the report of the period of `schedule` that starts at (or contains) `fromMs`. */
  async generate(schedule: ReportSchedule, fromMs: number, signal?: AbortSignal): Promise<GenerateOutcome> {
    const period = periodAt(schedule.everyMs, fromMs);
    const reportId = reportIdOf(schedule.name, period.fromMs);
    const check = () => {
      if (signal?.aborted) throw abortError(signal);
    };
    check();
    if (await this.d.store.exists(schedule.name, reportId, signal)) return { reportId, status: "exists" };
    check();
    const figures = await this.d.store.figures({ scope: schedule.scope, period, topDevices: this.top }, signal);
    const title = reportTitle(schedule.name, schedule.scope, period);
    const items = buildItems(schedule.scope, figures, schedule.maxItems);
    check();
    const res = await this.d.gateway.summarize({ title, items, subjectId: reportId }, { deadlineMs: this.d.clock.now() + this.timeoutMs, ...(signal ? { signal } : {}) });
    check();
    const row: Row = {
      report_id: reportId,
      kind: schedule.name,
      scope: scopeKey(schedule.scope),
      period_from_ms: period.fromMs,
      period_to_ms: period.toMs,
      created_at_ms: this.d.clock.now(),
      title,
      body: reportBody(res.summary, figures),
      provider: res.model.provider,
      model: res.model.model,
      cost_usd: res.model.costUsd,
    };
    try {
      await this.d.sink.write(new Map([[REPORTS_TABLE, rowBatchOf([row])]]));
    } catch (e) {
      throw new ShoalError(`report ${reportId} not stored: ${(e as Error)?.message ?? String(e)}`, { code: "storage_unavailable", retryable: true, cause: e });
    }
    return { reportId, status: "written", row };
  }
}
