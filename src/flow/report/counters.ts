import { FAILURE_REASONS, type Counters, type FailureCounts, type IntervalSnapshot, type Rates } from './report-types.ts';

/** Small helpers over `Counters`, shared by the recorder and the report writers. */

export function emptyFailureCounts(): FailureCounts {
  const c: FailureCounts = {};
  for (const r of FAILURE_REASONS) c[r] = 0;
  return c;
}

export function emptyCounters(): Counters {
  return { attempts: 0, successes: 0, failures: 0, failuresByReason: emptyFailureCounts() };
}

/** Counts one outcome: 'success', or a failure reason (unknown reasons get their own key). */
export function countOutcome(c: Counters, outcome: string): void {
  c.attempts += 1;
  if (outcome === 'success') {
    c.successes += 1;
  } else {
    c.failures += 1;
    c.failuresByReason[outcome] = (c.failuresByReason[outcome] ?? 0) + 1;
  }
}

export function cloneCounters(c: Counters): Counters {
  return { attempts: c.attempts, successes: c.successes, failures: c.failures, failuresByReason: { ...c.failuresByReason } };
}

export function addCounters(into: Counters, c: Counters): void {
  into.attempts += c.attempts;
  into.successes += c.successes;
  into.failures += c.failures;
  for (const [r, n] of Object.entries(c.failuresByReason)) {
    into.failuresByReason[r] = (into.failuresByReason[r] ?? 0) + n;
  }
}

/** Per-second rates of `c` over `ms` milliseconds (zeros for an empty span). */
export function ratesOf(c: Counters, ms: number): Rates {
  if (!(ms > 0)) return { attemptsPerSec: 0, successesPerSec: 0, failuresPerSec: 0 };
  const s = ms / 1000;
  return { attemptsPerSec: c.attempts / s, successesPerSec: c.successes / s, failuresPerSec: c.failures / s };
}

export function ratio(part: number, whole: number): number | null {
  return whole > 0 ? part / whole : null;
}

/** Failure reasons with a non-zero count, most frequent first (ties in `FAILURE_REASONS` order). */
export function topReasons(counts: FailureCounts): [string, number][] {
  const order = (r: string) => {
    const i = (FAILURE_REASONS as readonly string[]).indexOf(r);
    return i < 0 ? FAILURE_REASONS.length : i;
  };
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || order(a[0]) - order(b[0]));
}

/**
 * Merges two adjacent intervals into one, for keeping long runs' history in bounded memory.
 * Counts add; the latency figures keep the higher of the two (an upper envelope, since percentiles
 * of a union cannot be rebuilt from percentiles); client figures keep the later / higher value.
 */
export function mergeIntervals(a: IntervalSnapshot, b: IntervalSnapshot): IntervalSnapshot {
  const interval = cloneCounters(a.interval);
  addCounters(interval, b.interval);
  const flowsInterval = cloneCounters(a.flows.interval);
  addCounters(flowsInterval, b.flows.interval);
  const ms = a.intervalMs + b.intervalMs;
  const hi = (x: number | null, y: number | null) => (x === null ? y : y === null ? x : Math.max(x, y));
  return {
    index: a.index,
    at: b.at,
    elapsedMs: b.elapsedMs,
    intervalMs: ms,
    interval,
    cumulative: b.cumulative,
    rate: ratesOf(interval, ms),
    cumulativeRate: b.cumulativeRate,
    latency: {
      count: a.latency.count + b.latency.count,
      p50: hi(a.latency.p50, b.latency.p50),
      p95: hi(a.latency.p95, b.latency.p95),
      p99: hi(a.latency.p99, b.latency.p99),
      max: hi(a.latency.max, b.latency.max),
    },
    flows: { interval: flowsInterval, cumulative: b.flows.cumulative },
    activeClients: b.activeClients,
    intervalMaxActiveClients: Math.max(a.intervalMaxActiveClients, b.intervalMaxActiveClients),
    maxActiveClients: b.maxActiveClients,
    clientsStarted: b.clientsStarted,
    clientsEnded: b.clientsEnded,
  };
}
