import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RunRecorder } from './run-recorder.ts';
import type { FailureReason, IntervalSnapshot, StepEvent } from './report-types.ts';

/** A recorder whose time is moved by hand. */
function manual(opts: ConstructorParameters<typeof RunRecorder>[0] = {}) {
  let now = 1000;
  const intervals: IntervalSnapshot[] = [];
  const rec = new RunRecorder({ clock: () => now, onInterval: (s) => intervals.push(s), ...opts });
  return {
    rec,
    intervals,
    /** Sets the clock to `ms` after the start and lets the recorder notice. */
    at(ms: number) {
      now = 1000 + ms;
      rec.tick();
    },
  };
}

function step(flow: string, name: string, outcome: StepEvent['outcome'], durationMs = 10, clientId = 1, detail?: string): StepEvent {
  return { flow, step: name, clientId, startedAt: 0, durationMs, outcome, detail };
}

describe('RunRecorder counting', () => {
  it('counts attempts, successes and failures by reason per step, per flow and in total', () => {
    const { rec } = manual();
    rec.stepFinished(step('rest', 'create channel', 'success'));
    rec.stepFinished(step('rest', 'create channel', 'success'));
    rec.stepFinished(step('rest', 'create channel', 'status-mismatch', 5, 2, 'expected 201, got 503'));
    rec.stepFinished(step('rest', 'register', 'timeout', 5000));
    rec.stepFinished(step('rest', 'register', 'timeout', 5000));
    rec.stepFinished(step('rest', 'register', 'extract-miss'));
    rec.stepFinished(step('ws', 'register', 'success'));
    rec.flowFinished({ flow: 'rest', clientId: 1, durationMs: 100, ok: true });
    rec.flowFinished({ flow: 'rest', clientId: 2, durationMs: 100, ok: false, reason: 'timeout' });
    rec.flowFinished({ flow: 'rest', clientId: 3, durationMs: 100, ok: false });
    rec.close();
    const s = rec.summary();

    assert.equal(s.steps.attempts, 7);
    assert.equal(s.steps.successes, 3);
    assert.equal(s.steps.failures, 4);
    assert.equal(s.steps.failuresByReason.timeout, 2);
    assert.equal(s.steps.failuresByReason['status-mismatch'], 1);
    assert.equal(s.steps.failuresByReason['extract-miss'], 1);
    assert.equal(s.steps.failuresByReason['transport-error'], 0, 'every known reason is present');

    assert.deepEqual(
      s.byStep.map((x) => [x.flow, x.step, x.attempts, x.successes, x.failures]),
      [
        ['rest', 'create channel', 3, 2, 1],
        ['rest', 'register', 3, 0, 3],
        ['ws', 'register', 1, 1, 0],
      ],
      'steps of the same name in different flows are kept apart, in order of first appearance',
    );
    const register = s.byStep[1];
    assert.equal(register.failuresByReason.timeout, 2);
    assert.equal(register.latencyMs, null, 'no successful attempt, no latency');

    assert.equal(s.byFlow[0].attempts, 3);
    assert.equal(s.byFlow[0].successes, 1);
    assert.equal(s.byFlow[0].failuresByReason.timeout, 1);
    assert.equal(s.byFlow[0].failuresByReason.unspecified, 1);

    assert.deepEqual(
      s.failures.map((f) => [f.reason, f.count]),
      [
        ['timeout', 2],
        ['status-mismatch', 1],
        ['extract-miss', 1],
      ],
    );
    assert.deepEqual(s.failures[1].examples, ['create channel: expected 201, got 503']);
    assert.deepEqual(s.failures[0].steps, [{ flow: 'rest', step: 'register', count: 2 }]);
    assert.equal(s.verdict, 'fail');
  });

  it('measures latency of successful steps only', () => {
    const { rec } = manual();
    for (let i = 1; i <= 100; i++) rec.stepFinished(step('f', 's', 'success', i));
    rec.stepFinished(step('f', 's', 'timeout', 30_000));
    const l = rec.summary().byStep[0].latencyMs;
    assert.ok(l);
    assert.equal(l.count, 100);
    assert.equal(l.max, 100);
    assert.equal(l.min, 1);
    assert.ok(l.p50 >= 50 && l.p50 <= 50 * 1.008);
    assert.ok(l.p90 >= 90 && l.p90 <= 90 * 1.008);
    assert.ok(l.p99 >= 99 && l.p99 <= 99 * 1.008);
  });

  it('counts an unknown reason under its own name', () => {
    const { rec } = manual();
    rec.stepFinished(step('f', 's', 'weird' as FailureReason));
    assert.equal(rec.summary().steps.failuresByReason.weird, 1);
  });

  it('tracks current and peak concurrent clients; a second end of one client is not counted twice', () => {
    const { rec } = manual();
    rec.clientStarted(1);
    rec.clientStarted(2);
    rec.clientStarted(3);
    rec.clientEnded(2);
    rec.clientEnded(2);
    rec.clientStarted(4);
    const snap = rec.snapshot();
    assert.equal(snap.activeClients, 3);
    assert.equal(snap.maxActiveClients, 3);
    rec.clientEnded(1);
    rec.clientEnded(3);
    rec.clientEnded(4);
    const s = rec.summary();
    assert.deepEqual(s.clients, { started: 4, ended: 4, active: 0, maxActive: 3 });
  });

  it('records the most clients active at once inside each interval', () => {
    const { rec, intervals, at } = manual({ intervalMs: 1000 });
    rec.clientStarted(1);
    rec.clientStarted(2);
    rec.clientEnded(1);
    rec.clientEnded(2);
    at(1000);
    rec.clientStarted(3);
    at(2000);
    assert.deepEqual(
      intervals.map((i) => [i.activeClients, i.intervalMaxActiveClients, i.maxActiveClients]),
      [
        [0, 2, 2],
        [1, 1, 2],
      ],
    );
  });

  it('gives the verdict pass, no-traffic, or what the runner sets', () => {
    const a = manual().rec;
    assert.equal(a.summary().verdict, 'no-traffic');
    a.stepFinished(step('f', 's', 'success'));
    a.flowFinished({ flow: 'f', clientId: 1, durationMs: 10, ok: true });
    assert.equal(a.summary().verdict, 'pass');
    assert.match(a.summary().verdictReason, /all 1 flows and 1 steps succeeded/);
    a.setVerdict('aborted', 'interrupted by SIGINT');
    assert.equal(a.summary().verdict, 'aborted');
    assert.equal(a.summary().verdictReason, 'interrupted by SIGINT');
  });
});

describe('RunRecorder intervals', () => {
  it('closes an interval when time passes its end, with per-interval and cumulative rates', () => {
    const { rec, intervals, at } = manual({ intervalMs: 1000 });
    at(100);
    for (let i = 0; i < 10; i++) rec.stepFinished(step('f', 's', 'success', 5));
    rec.stepFinished(step('f', 's', 'timeout'));
    at(999);
    assert.equal(intervals.length, 0, 'still inside the first interval');
    at(1000);
    assert.equal(intervals.length, 1);
    const first = intervals[0];
    assert.equal(first.index, 0);
    assert.equal(first.elapsedMs, 1000);
    assert.equal(first.interval.attempts, 11);
    assert.equal(first.interval.failuresByReason.timeout, 1);
    assert.equal(first.rate.attemptsPerSec, 11);
    assert.equal(first.latency.count, 10);
    assert.ok(first.latency.p95 !== null && first.latency.p95 >= 5 && first.latency.p95 <= 5.04);

    at(1500);
    for (let i = 0; i < 5; i++) rec.stepFinished(step('f', 's', 'success', 7));
    at(2000);
    const second = intervals[1];
    assert.equal(second.index, 1);
    assert.equal(second.interval.attempts, 5);
    assert.equal(second.interval.failures, 0);
    assert.equal(second.rate.successesPerSec, 5);
    assert.equal(second.cumulative.attempts, 16);
    assert.equal(second.cumulativeRate.attemptsPerSec, 8, 'Landslide style: cumulative count over elapsed time');
    assert.equal(second.latency.max, 7, 'interval percentiles are of that interval only');
  });

  it('emits empty intervals for quiet periods, so time stays continuous', () => {
    const { rec, intervals, at } = manual({ intervalMs: 250 });
    rec.stepFinished(step('f', 's', 'success'));
    at(1100);
    assert.deepEqual(
      intervals.map((i) => [i.index, i.elapsedMs, i.interval.attempts]),
      [
        [0, 250, 1],
        [1, 500, 0],
        [2, 750, 0],
        [3, 1000, 0],
      ],
    );
    assert.deepEqual(intervals[1].latency, { count: 0, p50: null, p95: null, p99: null, max: null });
  });

  it('counts an event in the interval during which it is reported, closing earlier intervals first', () => {
    let now = 0;
    const rec = new RunRecorder({ clock: () => now, intervalMs: 100 });
    rec.stepFinished(step('f', 's', 'success'));
    now = 150;
    rec.stepFinished(step('f', 's', 'success'));
    rec.stepFinished(step('f', 's', 'success'));
    now = 200;
    rec.close();
    assert.deepEqual(
      rec.intervals().map((i) => i.interval.attempts),
      [1, 2],
    );
  });

  it('closes the last partial interval on close(), and close() is idempotent', () => {
    const { rec, intervals, at } = manual({ intervalMs: 1000 });
    at(1200);
    rec.stepFinished(step('f', 's', 'success'));
    at(1700);
    rec.close();
    rec.close();
    assert.equal(intervals.length, 2);
    assert.equal(intervals[1].intervalMs, 700);
    assert.equal(intervals[1].interval.attempts, 1);
    assert.ok(Math.abs(intervals[1].rate.attemptsPerSec - 1 / 0.7) < 1e-9);
    assert.equal(rec.summary().durationMs, 1700);
  });

  it('snapshot() gives the last closed interval with cumulative figures up to now', () => {
    const { rec, at } = manual({ intervalMs: 1000 });
    rec.clientStarted(1);
    rec.stepFinished(step('f', 's', 'success'));
    const early = rec.snapshot();
    assert.equal(early.index, 0, 'before the first interval closes, the partial one');
    assert.equal(early.interval.attempts, 1);
    at(1000);
    rec.stepFinished(step('f', 's', 'transport-error'));
    at(1500);
    const snap = rec.snapshot();
    assert.equal(snap.index, 0);
    assert.equal(snap.interval.attempts, 1);
    assert.equal(snap.cumulative.attempts, 2);
    assert.equal(snap.cumulative.failuresByReason['transport-error'], 1);
    assert.equal(snap.elapsedMs, 1500);
    assert.equal(snap.activeClients, 1);
  });

  it('keeps a throwing onInterval callback from stopping the measurements', () => {
    let now = 0;
    let calls = 0;
    const rec = new RunRecorder({
      clock: () => now,
      intervalMs: 10,
      onInterval: () => {
        calls += 1;
        throw new Error('printer broke');
      },
    });
    now = 35;
    rec.stepFinished(step('f', 's', 'success'));
    assert.equal(calls, 3);
    assert.equal(rec.summary().steps.attempts, 1);
  });

  it('merges old intervals pairwise past maxIntervalsKept, keeping totals', () => {
    let now = 0;
    const rec = new RunRecorder({ clock: () => now, intervalMs: 10, maxIntervalsKept: 16 });
    for (let i = 0; i < 40; i++) {
      rec.stepFinished(step('f', 's', 'success', i + 1));
      now += 10;
    }
    rec.close();
    const kept = rec.intervals();
    assert.ok(kept.length <= 16, `${kept.length} intervals kept`);
    assert.equal(
      kept.reduce((a, i) => a + i.interval.attempts, 0),
      40,
    );
    assert.equal(kept[kept.length - 1].elapsedMs, 400);
  });

  it('closes intervals by itself with a timer when no clock is given, and stops it on close()', async () => {
    const seen: number[] = [];
    const rec = new RunRecorder({ intervalMs: 20, onInterval: (s) => seen.push(s.index) });
    await new Promise((r) => setTimeout(r, 90));
    rec.close();
    const count = seen.length;
    assert.ok(count >= 2, `${count} intervals closed by the timer`);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(seen.length, count, 'nothing closes after close()');
  });

  it('ignores events after close() but counts them', () => {
    const { rec } = manual();
    rec.close();
    rec.stepFinished(step('f', 's', 'success'));
    rec.clientStarted(9);
    const s = rec.summary();
    assert.equal(s.steps.attempts, 0);
    assert.equal(s.eventsAfterClose, 2);
  });
});

describe('RunRecorder transcripts', () => {
  const entry = (label: string, failed = false) => ({ at: 0, from: 'client', to: 'server', label, failed });

  it('keeps the first N clients and the first few failed flows, failed ones first', () => {
    const { rec } = manual({ sampleClients: 2, sampleFailedFlows: 2 });
    for (let id = 1; id <= 10; id++) {
      rec.clientStarted(id);
      rec.transcript(id, entry(`POST ${id}`));
      const ok = id !== 5 && id !== 7 && id !== 9;
      rec.flowFinished({ flow: 'f', clientId: id, durationMs: 1, ok, reason: ok ? undefined : 'timeout' });
      rec.clientEnded(id);
    }
    const ladders = rec.sampleLadders();
    assert.deepEqual(
      ladders.map((l) => [l.clientId, l.ok]),
      [
        [5, false],
        [7, false],
        [1, true],
        [2, true],
      ],
      'client 9 failed after the failed quota was full',
    );
    assert.equal(ladders[0].reason, 'timeout');
    assert.equal(ladders[0].entries[0].label, 'POST 5');
    assert.equal(rec.wantsTranscript(11), false, 'quota full: a new client is not buffered');
  });

  it('caps each transcript and says it was truncated', () => {
    const { rec } = manual({ maxTranscriptEntries: 3 });
    for (let i = 0; i < 10; i++) rec.transcript(1, entry(`m${i}`));
    rec.flowFinished({ flow: 'f', clientId: 1, durationMs: 1, ok: false, reason: 'body-mismatch' });
    const [l] = rec.sampleLadders();
    assert.equal(l.entries.length, 3);
    assert.equal(l.truncated, true);
  });

  it('copies entries, so a runner may reuse its objects', () => {
    const { rec } = manual();
    const e = entry('first');
    rec.transcript(1, e);
    e.label = 'changed';
    rec.flowFinished({ flow: 'f', clientId: 1, durationMs: 1, ok: true });
    assert.equal(rec.sampleLadders()[0].entries[0].label, 'first');
  });
});
