import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CSV_COLUMNS, csvCell } from './interval-csv.ts';
import { RunRecorder } from './run-recorder.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-csv-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function rows(path: string): Record<string, string>[] {
  const lines = readFileSync(path, 'utf8').split('\r\n').filter((l) => l !== '');
  const head = lines[0].split(',');
  return lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [head[i], v])));
}

describe('periodic CSV', () => {
  it('writes the header at once and each row as its interval closes, before close()', () => {
    const path = join(dir, 'incremental.csv');
    let now = 0;
    const rec = new RunRecorder({ clock: () => now, intervalMs: 1000, csvPath: path });
    assert.equal(readFileSync(path, 'utf8'), `${CSV_COLUMNS.join(',')}\r\n`, 'a run killed at once still leaves the header');

    rec.clientStarted(1);
    rec.stepFinished({ flow: 'f', step: 'a', clientId: 1, startedAt: 0, durationMs: 12, outcome: 'success' });
    rec.stepFinished({ flow: 'f', step: 'a', clientId: 1, startedAt: 0, durationMs: 5000, outcome: 'timeout' });
    rec.stepFinished({ flow: 'f', step: 'b', clientId: 1, startedAt: 0, durationMs: 3, outcome: 'status-mismatch' });
    now = 1000;
    rec.tick();
    let r = rows(path);
    assert.equal(r.length, 1, 'the first row is on disk while the run goes on');
    assert.equal(r[0].elapsed_s, '1.000');
    assert.equal(r[0].attempts, '3');
    assert.equal(r[0].successes, '1');
    assert.equal(r[0].failures, '2');
    assert.equal(r[0].fail_timeout, '1');
    assert.equal(r[0].fail_status_mismatch, '1');
    assert.equal(r[0].fail_transport_error, '0');
    assert.equal(r[0].attempts_per_s, '3.00');
    assert.equal(r[0].p50_ms, '12.000');
    assert.equal(r[0].active_clients, '1');
    assert.equal(r[0].interval_max_active_clients, '1');
    assert.ok(!Number.isNaN(Date.parse(r[0].time)));

    now = 2500;
    rec.tick();
    r = rows(path);
    assert.equal(r.length, 2);
    assert.equal(r[1].attempts, '0');
    assert.equal(r[1].p95_ms, '', 'no latency measured: an empty cell');
    assert.equal(r[1].cum_attempts, '3');
    assert.equal(r[1].cum_attempts_per_s, '1.50');

    rec.close();
    r = rows(path);
    assert.equal(r.length, 3, 'close() adds the partial last interval');
    assert.equal(r[2].interval_s, '0.500');
    for (const row of r) assert.equal(Object.keys(row).length, CSV_COLUMNS.length);
  });

  it('puts unknown failure reasons under fail_other', () => {
    const path = join(dir, 'other.csv');
    let now = 0;
    const rec = new RunRecorder({ clock: () => now, intervalMs: 100, csvPath: path });
    rec.stepFinished({ flow: 'f', step: 'a', clientId: 1, startedAt: 0, durationMs: 1, outcome: 'bogus' as never });
    now = 100;
    rec.close();
    assert.equal(rows(path)[0].fail_other, '1');
  });

  it('quotes cells as RFC 4180 requires', () => {
    assert.equal(csvCell('plain'), 'plain');
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
  });
});
