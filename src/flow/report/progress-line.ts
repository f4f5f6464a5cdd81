import { topReasons } from './counters.ts';
import { formatCount, formatElapsed, formatMs, formatRate } from './format.ts';
import type { IntervalSnapshot } from './report-types.ts';

/**
 * One compact line for the terminal, refreshed each interval:
 *
 *   `[01:23]  48.0/s  clients 120 (max 150)  ok 10,234  fail 12 (timeout 9)  p95 23.4 ms`
 *
 * The rate and p95 are those of the last closed interval; ok and fail are cumulative step counts,
 * with the most frequent failure reason in brackets.
 */
export function formatProgressLine(snap: IntervalSnapshot): string {
  const top = topReasons(snap.cumulative.failuresByReason)[0];
  const fail = snap.cumulative.failures === 0 ? 'fail 0' : `fail ${formatCount(snap.cumulative.failures)}${top ? ` (${top[0]} ${formatCount(top[1])})` : ''}`;
  return [
    `[${formatElapsed(snap.elapsedMs)}]`,
    `${formatRate(snap.rate.attemptsPerSec)}/s`,
    `clients ${formatCount(snap.activeClients)} (max ${formatCount(snap.maxActiveClients)})`,
    `ok ${formatCount(snap.cumulative.successes)}`,
    fail,
    `p95 ${formatMs(snap.latency.p95)}`,
  ].join('  ');
}
