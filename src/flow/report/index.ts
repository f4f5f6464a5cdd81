/** Measurements and reports of the flow tester: the recorder the runner reports to, and its outputs. */
export { RunRecorder, type RunRecorderOptions } from './run-recorder.ts';
export { LatencyHistogram, type LatencyHistogramOptions } from './latency-histogram.ts';
export { LadderSampler, type LadderSamplerOptions } from './ladder-sampler.ts';
export { IntervalCsvWriter, CSV_COLUMNS, csvRow } from './interval-csv.ts';
export { writeJsonSummary } from './json-summary.ts';
export { writeHtmlReport, renderHtmlReport } from './html-report.ts';
export { renderLadderSvg, type LadderSvgOptions } from './ladder-svg.ts';
export { formatProgressLine } from './progress-line.ts';
export { FAILURE_REASONS } from './report-types.ts';
export type {
  Counters,
  EncodedHistogram,
  FailureCounts,
  FailureReason,
  FailureSummary,
  FlowEvent,
  FlowSummary,
  IntervalLatency,
  IntervalSnapshot,
  LadderEntry,
  LatencyStats,
  Rates,
  RunInfo,
  RunSummary,
  SampleLadder,
  StepEvent,
  StepSummary,
  Verdict,
} from './report-types.ts';
