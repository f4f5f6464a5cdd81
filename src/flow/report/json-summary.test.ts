import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { writeJsonSummary } from './json-summary.ts';
import { LatencyHistogram } from './latency-histogram.ts';
import { RunRecorder } from './run-recorder.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-json-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('JSON summary', () => {
  it('has the documented shape, per step and per flow, with histograms that can be merged back', () => {
    let now = 0;
    const rec = new RunRecorder({ clock: () => now, run: { flow: 'webrtc-rest', target: 'http://127.0.0.1:1', clients: 2 } });
    rec.clientStarted(1);
    for (let i = 0; i < 50; i++) rec.stepFinished({ flow: 'webrtc-rest', step: 'create channel', clientId: 1, startedAt: 0, durationMs: 2 + i, outcome: 'success' });
    rec.stepFinished({ flow: 'webrtc-rest', step: 'register', clientId: 1, startedAt: 0, durationMs: 1, outcome: 'header-mismatch', detail: 'no Location header' });
    rec.flowFinished({ flow: 'webrtc-rest', clientId: 1, durationMs: 120, ok: false, reason: 'header-mismatch' });
    rec.clientEnded(1);
    now = 2000;
    rec.close();
    const path = join(dir, 'sub', 'summary.json');
    writeJsonSummary(path, rec.summary());
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['summary.json'], 'no temporary file left behind');
    const s = JSON.parse(readFileSync(path, 'utf8'));

    assert.equal(s.version, 1);
    assert.deepEqual(Object.keys(s).sort(), [
      'byFlow', 'byStep', 'clients', 'durationMs', 'endedAt', 'eventsAfterClose', 'failures', 'flows', 'intervalMs', 'run',
      'startedAt', 'steps', 'verdict', 'verdictReason', 'version',
    ]);
    assert.deepEqual(s.run, { flow: 'webrtc-rest', target: 'http://127.0.0.1:1', clients: 2 });
    assert.equal(s.verdict, 'fail');
    assert.equal(s.durationMs, 2000);
    assert.equal(Date.parse(s.endedAt) - Date.parse(s.startedAt), 2000);
    assert.deepEqual(s.clients, { started: 1, ended: 1, active: 0, maxActive: 1 });
    assert.equal(s.steps.attempts, 51);
    assert.equal(s.steps.rate.attemptsPerSec, 25.5);
    assert.deepEqual(Object.keys(s.steps.latencyMs).sort(), ['count', 'max', 'mean', 'min', 'p50', 'p90', 'p95', 'p99']);

    const step = s.byStep[0];
    assert.equal(step.step, 'create channel');
    assert.equal(step.successRatio, 1);
    assert.equal(step.latencyMs.max, 51);
    assert.equal(step.histogram.unit, 'us');
    const back = LatencyHistogram.decode(step.histogram);
    assert.equal(back.count, 50);
    assert.equal(back.valueAtPercentile(50) / 1000, step.latencyMs.p50);

    assert.equal(s.byStep[1].latencyMs, null);
    assert.equal(s.byStep[1].failuresByReason['header-mismatch'], 1);
    assert.equal(s.byFlow[0].durationMs, null, 'the only flow failed');
    assert.deepEqual(s.failures, [
      { reason: 'header-mismatch', count: 1, steps: [{ flow: 'webrtc-rest', step: 'register', count: 1 }], examples: ['register: no Location header'] },
    ]);
  });
});
