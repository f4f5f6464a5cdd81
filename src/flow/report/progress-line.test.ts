import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatElapsed, formatMs, formatPercent } from './format.ts';
import { formatProgressLine } from './progress-line.ts';
import { RunRecorder } from './run-recorder.ts';

describe('formatProgressLine', () => {
  it('shows elapsed time, rate, active clients, successes, failures with the top reason, and p95', () => {
    let now = 0;
    const rec = new RunRecorder({ clock: () => now, intervalMs: 1000 });
    for (let c = 1; c <= 3; c++) rec.clientStarted(c);
    now = 82_500;
    for (let i = 0; i < 40; i++) rec.stepFinished({ flow: 'f', step: 's', clientId: 1, startedAt: 0, durationMs: 20, outcome: 'success' });
    for (let i = 0; i < 3; i++) rec.stepFinished({ flow: 'f', step: 's', clientId: 1, startedAt: 0, durationMs: 1, outcome: 'timeout' });
    rec.stepFinished({ flow: 'f', step: 's', clientId: 1, startedAt: 0, durationMs: 1, outcome: 'extract-miss' });
    rec.clientEnded(3);
    now = 83_000;
    // The rate and p95 are those of the interval 82–83 s, which just closed.
    const line = formatProgressLine(rec.snapshot());
    assert.equal(line, '[01:23]  44.0/s  clients 2 (max 3)  ok 40  fail 4 (timeout 3)  p95 20.0 ms');
    assert.ok(!line.includes('\n'));
  });

  it('says fail 0 and p95 — before anything happened', () => {
    const rec = new RunRecorder({ clock: () => 0 });
    assert.equal(formatProgressLine(rec.snapshot()), '[00:00]  0.00/s  clients 0 (max 0)  ok 0  fail 0  p95 —');
  });
});

describe('formatting helpers', () => {
  it('formats durations, elapsed time and ratios', () => {
    assert.equal(formatMs(0.42), '0.42 ms');
    assert.equal(formatMs(12.34), '12.3 ms');
    assert.equal(formatMs(245.6), '246 ms');
    assert.equal(formatMs(1250), '1.25 s');
    assert.equal(formatMs(125_000), '2 min 5 s');
    assert.equal(formatMs(null), '—');
    assert.equal(formatElapsed(3_723_000), '1:02:03');
    assert.equal(formatPercent(1), '100%');
    assert.equal(formatPercent(0.99999), '99.999%', 'never rounded up to 100%');
    assert.equal(formatPercent(0.5), '50.0%');
    assert.equal(formatPercent(null), '—');
  });
});
