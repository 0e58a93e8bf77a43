/**
 * Parses the Tennessee Eastman Process data files of Russell, Chiang & Braatz (test/fixtures/tep,
 * see its README): whitespace-separated numbers, one line per row. Pure: works on texts already in
 * memory (corpus.ts reads the files).
 *
 * Each sample is 52 variables: XMEAS(1..41) then XMV(1..11). The test files (`dNN_te.dat`) hold
 * one sample per line (960 × 52); the normal training file `d00.dat` is stored transposed (52 lines
 * of 500 samples), so `parseTepSamples` accepts either orientation and always returns samples.
 */
import { ShoalError } from "../base/errors.js";

/** Variables per TEP sample: 41 measurements (XMEAS) and 11 manipulated variables (XMV). */
export const TEP_VARIABLES = 52;

/** Metric names of a sample, in file column order: `xmeas_1..xmeas_41`, `xmv_1..xmv_11`. */
export const TEP_METRICS: readonly string[] = Object.freeze([
  ...Array.from({ length: 41 }, (_, i) => `xmeas_${i + 1}`),
  ...Array.from({ length: 11 }, (_, i) => `xmv_${i + 1}`),
]);

/** Samples of one TEP file: `values[s * 52 + v]` is variable v (column order of TEP_METRICS) of sample s. */
export interface TepSamples {
  readonly samples: number;
  readonly values: Float64Array;
  /** The file held one variable per line (as upstream's d00.dat) and was transposed. */
  readonly transposed: boolean;
}

/** A TEP file that is not a matrix of numbers with 52 rows or 52 columns. */
export class TepFormatError extends ShoalError {
  constructor(message: string) {
    super(message, { code: "invalid_input" });
    this.name = "TepFormatError";
  }
}

/**
 * The numbers of a whitespace-separated text as rows (blank lines skipped).
 * @throws TepFormatError when a field is not a finite number or rows differ in length.
 */
export function parseMatrix(text: string, name = "TEP file"): { rows: number; cols: number; values: Float64Array } {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  let cols = -1;
  const out: number[] = [];
  lines.forEach((line, r) => {
    const fields = line.trim().split(/\s+/);
    if (cols < 0) cols = fields.length;
    else if (fields.length !== cols) throw new TepFormatError(`${name}: line ${r + 1} has ${fields.length} fields, the first has ${cols}`);
    for (const f of fields) {
      const v = Number(f);
      if (!Number.isFinite(v)) throw new TepFormatError(`${name}: line ${r + 1}: ${JSON.stringify(f)} is not a number`);
      out.push(v);
    }
  });
  return { rows: lines.length, cols: Math.max(cols, 0), values: Float64Array.from(out) };
}

/**
 * The samples of a TEP file in either orientation: 52 columns (one sample per line) is read as is;
 * otherwise 52 lines (one variable per line, upstream's d00.dat) is transposed. A 52 × 52 file is
 * read as one sample per line.
 * @throws TepFormatError when neither dimension is 52.
 */
export function parseTepSamples(text: string, name = "TEP file"): TepSamples {
  const m = parseMatrix(text, name);
  if (m.cols === TEP_VARIABLES) return { samples: m.rows, values: m.values, transposed: false };
  if (m.rows !== TEP_VARIABLES) throw new TepFormatError(`${name}: expected 52 variables per sample, got a ${m.rows} × ${m.cols} matrix`);
  const n = m.cols;
  const values = new Float64Array(n * TEP_VARIABLES);
  for (let v = 0; v < TEP_VARIABLES; v++) for (let s = 0; s < n; s++) values[s * TEP_VARIABLES + v] = m.values[v * n + s]!;
  return { samples: n, values, transposed: true };
}

/** Sample `s` of `t` as a reading's metrics (`xmeas_1`: …, `xmv_11`: …). */
export function sampleMetrics(t: TepSamples, s: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let v = 0; v < TEP_VARIABLES; v++) out[TEP_METRICS[v]!] = t.values[s * TEP_VARIABLES + v]!;
  return out;
}
