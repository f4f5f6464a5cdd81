/**
 * The vocabulary of the flow tester's measurements: what the runner reports to a `RunRecorder`,
 * and what the recorder hands back (live snapshots, the final summary, sample ladders).
 *
 * Counting follows the P/C (periodic / cumulative) style of SIPp's `-trace_stat` and Landslide's
 * reports, so figures compare with those tools; the cumulative rate is computed as Landslide does:
 * (value(n) − value(0)) / (time(n) − time(0)).
 */

/** Why a step or a flow failed. Stable strings: they name CSV columns and JSON keys. */
export type FailureReason =
  | 'status-mismatch'
  | 'timeout'
  | 'extract-miss'
  | 'transport-error'
  | 'template-error'
  | 'unexpected-message'
  | 'header-mismatch'
  | 'body-mismatch';

/** Every failure reason, in the order reports list them. */
export const FAILURE_REASONS: readonly FailureReason[] = [
  'status-mismatch',
  'timeout',
  'extract-miss',
  'transport-error',
  'template-error',
  'unexpected-message',
  'header-mismatch',
  'body-mismatch',
];

/** Failure counts keyed by reason; every known reason is present (0 when none), unknown ones are added. */
export type FailureCounts = Record<string, number>;

/** One finished step (one request/response, one awaited frame, ...) of one client. */
export interface StepEvent {
  flow: string;
  step: string;
  clientId: number;
  /** `performance.now()` in ms when the step started. */
  startedAt: number;
  durationMs: number;
  outcome: 'success' | FailureReason;
  /** Free text shown in reports (e.g. "expected 201, got 503"). */
  detail?: string;
}

/** One finished flow (a whole scenario) of one client. */
export interface FlowEvent {
  flow: string;
  clientId: number;
  durationMs: number;
  ok: boolean;
  reason?: FailureReason;
}

/** One arrow of a ladder diagram. */
export interface LadderEntry {
  /** `performance.now()` in ms when the message crossed. */
  at: number;
  /** Participant sending, e.g. "client 7" or "UE". */
  from: string;
  /** Participant receiving, e.g. "server". */
  to: string;
  /** Short label drawn on the arrow, e.g. "POST /sessions" or "201 Created". */
  label: string;
  /** Longer text drawn under the arrow (a failure detail, a header excerpt). */
  detail?: string;
  failed?: boolean;
}

/** A kept transcript of one client's flow, for ladder diagrams. */
export interface SampleLadder {
  clientId: number;
  /** The flow name when the flow finished; empty when the client ended without finishing one. */
  flow: string;
  ok: boolean;
  reason?: FailureReason;
  durationMs?: number;
  entries: LadderEntry[];
  /** True when entries past the per-transcript cap were dropped. */
  truncated: boolean;
}

/** attempts = successes + failures. */
export interface Counters {
  attempts: number;
  successes: number;
  failures: number;
  failuresByReason: FailureCounts;
}

export interface Rates {
  attemptsPerSec: number;
  successesPerSec: number;
  failuresPerSec: number;
}

/** Latency percentiles in ms; null fields when nothing was measured. */
export interface IntervalLatency {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

/**
 * One interval of the run (or, from `snapshot()`, the last closed interval plus cumulative totals up to now).
 * Step counters count steps (requests, awaited frames); flow counters count finished flows.
 */
export interface IntervalSnapshot {
  /** Interval number from 0. */
  index: number;
  /** Wall-clock time (ms since the epoch) at the end of the interval, or now for a live snapshot. */
  at: number;
  /** ms since the recorder started, at the end of the interval (or now). */
  elapsedMs: number;
  /** Actual length of the interval in ms (the last one of a run may be shorter). */
  intervalMs: number;
  interval: Counters;
  cumulative: Counters;
  rate: Rates;
  cumulativeRate: Rates;
  /** Step latency (successful steps) inside the interval. */
  latency: IntervalLatency;
  flows: {
    interval: Counters;
    cumulative: Counters;
  };
  /** Clients active at the end of the interval (or now). */
  activeClients: number;
  /** Most clients active at once during the interval: short flows may start and end between two ends. */
  intervalMaxActiveClients: number;
  /** Most clients active at once since the start. */
  maxActiveClients: number;
  clientsStarted: number;
  clientsEnded: number;
}

/** Latency statistics in ms from an HDR-style histogram (values within ±0.8 % of exact). */
export interface LatencyStats {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

/** A compact, mergeable form of a histogram: [lowest value of the bucket in µs, count] pairs. */
export interface EncodedHistogram {
  unit: 'us';
  significantDigits: number;
  highestTrackableUs: number;
  buckets: [number, number][];
}

export interface StepSummary extends Counters {
  flow: string;
  step: string;
  successRatio: number | null;
  rate: Rates;
  /** Latency of successful attempts; null when none succeeded. */
  latencyMs: LatencyStats | null;
  histogram: EncodedHistogram;
}

export interface FlowSummary extends Counters {
  flow: string;
  successRatio: number | null;
  rate: Rates;
  /** Duration of flows that completed successfully; null when none did. */
  durationMs: LatencyStats | null;
  histogram: EncodedHistogram;
}

export interface FailureSummary {
  reason: string;
  count: number;
  /** Steps where this reason occurred, most first. */
  steps: { flow: string; step: string; count: number }[];
  /** A few distinct details, as reported by the runner. */
  examples: string[];
}

/** Free-form description of the run, shown in report headers (flow, target, clients, rate, ...). */
export type RunInfo = Record<string, string | number | boolean | null | undefined>;

export type Verdict = 'pass' | 'fail' | 'no-traffic' | 'aborted';

export interface RunSummary {
  /** Shape version of this JSON document. */
  version: 1;
  run: RunInfo;
  verdict: Verdict;
  verdictReason: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  intervalMs: number;
  clients: { started: number; ended: number; active: number; maxActive: number };
  steps: Counters & { successRatio: number | null; rate: Rates; latencyMs: LatencyStats | null };
  flows: Counters & { successRatio: number | null; rate: Rates };
  byStep: StepSummary[];
  byFlow: FlowSummary[];
  failures: FailureSummary[];
  /** Events reported after `close()`; they are not counted anywhere else. */
  eventsAfterClose: number;
}
