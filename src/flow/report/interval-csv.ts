import { closeSync, openSync, writeSync } from 'node:fs';
import { FAILURE_REASONS, type IntervalSnapshot } from './report-types.ts';

/**
 * The periodic CSV: one row per interval, in the P/C style of SIPp's `-trace_stat` (periodic figures
 * first, then cumulative ones). Every row is written with a synchronous `write(2)` as soon as its
 * interval closes, so a run that is killed still leaves every finished interval on disk.
 *
 * Latency columns are in ms and empty when no step succeeded in the interval.
 */
export const CSV_COLUMNS: readonly string[] = [
  'time',
  'elapsed_s',
  'interval_s',
  'attempts',
  'successes',
  'failures',
  ...FAILURE_REASONS.map((r) => `fail_${r.replace(/-/g, '_')}`),
  'fail_other',
  'attempts_per_s',
  'successes_per_s',
  'failures_per_s',
  'p50_ms',
  'p95_ms',
  'p99_ms',
  'max_ms',
  'active_clients',
  'interval_max_active_clients',
  'max_active_clients',
  'flows_ok',
  'flows_failed',
  'cum_attempts',
  'cum_successes',
  'cum_failures',
  'cum_attempts_per_s',
  'cum_successes_per_s',
  'cum_flows_ok',
  'cum_flows_failed',
];

/** The CSV cells of one interval, in `CSV_COLUMNS` order. */
export function csvRow(s: IntervalSnapshot): string[] {
  const known = new Set<string>(FAILURE_REASONS);
  let other = 0;
  for (const [reason, n] of Object.entries(s.interval.failuresByReason)) {
    if (!known.has(reason)) other += n;
  }
  return [
    new Date(s.at).toISOString(),
    fixed(s.elapsedMs / 1000, 3),
    fixed(s.intervalMs / 1000, 3),
    String(s.interval.attempts),
    String(s.interval.successes),
    String(s.interval.failures),
    ...FAILURE_REASONS.map((r) => String(s.interval.failuresByReason[r] ?? 0)),
    String(other),
    fixed(s.rate.attemptsPerSec, 2),
    fixed(s.rate.successesPerSec, 2),
    fixed(s.rate.failuresPerSec, 2),
    optional(s.latency.p50),
    optional(s.latency.p95),
    optional(s.latency.p99),
    optional(s.latency.max),
    String(s.activeClients),
    String(s.intervalMaxActiveClients),
    String(s.maxActiveClients),
    String(s.flows.interval.successes),
    String(s.flows.interval.failures),
    String(s.cumulative.attempts),
    String(s.cumulative.successes),
    String(s.cumulative.failures),
    fixed(s.cumulativeRate.attemptsPerSec, 2),
    fixed(s.cumulativeRate.successesPerSec, 2),
    String(s.flows.cumulative.successes),
    String(s.flows.cumulative.failures),
  ];
}

/** Quotes a cell when RFC 4180 requires it (comma, quote, CR or LF inside). */
export function csvCell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export class IntervalCsvWriter {
  private fd: number | null;

  /** Creates (truncates) the file and writes the header line at once. */
  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
    this.writeLine(CSV_COLUMNS);
  }

  append(s: IntervalSnapshot): void {
    this.writeLine(csvRow(s));
  }

  /** Idempotent. */
  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }

  private writeLine(cells: readonly string[]): void {
    if (this.fd === null) return;
    writeSync(this.fd, cells.map(csvCell).join(',') + '\r\n');
  }
}

function fixed(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '';
}

function optional(n: number | null): string {
  return n === null ? '' : n.toFixed(3);
}
