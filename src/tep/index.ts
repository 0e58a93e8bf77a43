/** Tennessee Eastman Process benchmark (issue 19, deliverable 5): reader, scoring, table. Public surface of src/tep. */
export { parseMatrix, parseTepSamples, sampleMetrics, TEP_METRICS, TEP_VARIABLES, TepFormatError } from "./parse.js";
export type { TepSamples } from "./parse.js";
export { defaultTepDir, gitBlobId, readTepCorpus, readTepText, testFileName, TEP_FAULTS, TEP_ONSET, TEP_SAMPLE_MINUTES } from "./corpus.js";
export type { TepCorpus, TepRun } from "./corpus.js";
export { detectionFigures, flagsOf, holdFlags, meanOf } from "./score.js";
export type { DetectionFigures } from "./score.js";
export { scoreTepRun, termsOf, TEP_START_MS } from "./run.js";
export type { TepRunOptions, TepRunScores } from "./run.js";
export { formatTepTable, printTepBenchmark, runTepBenchmark, TEP_UNOBSERVABLE } from "./report.js";
export type { TepBenchOptions, TepRow } from "./report.js";
export { symmetricEigen, trainPcaMonitor, TEP_PCA_COMPONENTS } from "./pca.js";
export type { PcaMonitor } from "./pca.js";
export { PUBLISHED_PCA_MISS, PUBLISHED_SOURCE, publishedFor } from "./published.js";
export type { PublishedMissRate } from "./published.js";
