import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_TIMER_CONFIG, resolveTimerConfig, TimerService, TimerSet, transactionTimers } from './timers.ts';

describe('TimerConfig', () => {
  it('defaults to T1 = 500 ms, T2 = 4 s, T4 = 5 s (RFC 3261 §17.1.1.1)', () => {
    assert.deepEqual(resolveTimerConfig(), { t1: 500, t2: 4000, t4: 5000 });
    assert.deepEqual({ ...DEFAULT_TIMER_CONFIG }, { t1: 500, t2: 4000, t4: 5000 });
    assert.deepEqual(resolveTimerConfig({ t1: 20 }), { t1: 20, t2: 4000, t4: 5000 });
  });

  it('rejects non-positive values and T2 below T1', () => {
    assert.throws(() => resolveTimerConfig({ t1: 0 }), RangeError);
    assert.throws(() => resolveTimerConfig({ t4: -1 }), RangeError);
    assert.throws(() => resolveTimerConfig({ t1: 100, t2: 50 }), RangeError);
  });
});

describe('transactionTimers', () => {
  const cfg = resolveTimerConfig();

  it('derives A–M for an unreliable transport as in RFC 3261 Table 4 and RFC 6026', () => {
    assert.deepEqual(transactionTimers(cfg, false), {
      A: 500,
      B: 32_000,
      D: 32_000,
      E: 500,
      F: 32_000,
      G: 500,
      H: 32_000,
      I: 5000,
      J: 32_000,
      K: 5000,
      L: 32_000,
      M: 32_000,
      cap: 4000,
    });
  });

  it('zeroes retransmissions and D/I/J/K on a reliable transport', () => {
    const t = transactionTimers(cfg, true);
    assert.deepEqual([t.A, t.E, t.G], [0, 0, 0]);
    assert.deepEqual([t.D, t.I, t.J, t.K], [0, 0, 0, 0]);
    assert.deepEqual([t.B, t.F, t.H, t.L, t.M], [32_000, 32_000, 32_000, 32_000, 32_000]);
  });

  it('scales with the configured T1/T2/T4, per stack instance', () => {
    const t = transactionTimers(resolveTimerConfig({ t1: 10, t2: 40, t4: 50 }), false);
    assert.deepEqual([t.A, t.B, t.D, t.cap, t.I, t.K], [10, 640, 640, 40, 50, 50]);
  });
});

describe('TimerSet', () => {
  it('replaces a timer of the same name and clears all at once', async () => {
    const timers = new TimerSet<'a' | 'b'>();
    const fired: string[] = [];
    timers.start('a', 5, () => fired.push('a1'));
    timers.start('a', 10, () => fired.push('a2'));
    timers.start('b', 10, () => fired.push('b'));
    assert.equal(timers.size, 2);
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(fired.sort(), ['a2', 'b']);
    assert.equal(timers.size, 0);
    timers.start('a', 5, () => fired.push('late'));
    timers.clear();
    await new Promise((r) => setTimeout(r, 15));
    assert.equal(fired.includes('late'), false);
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function nodeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

describe('TimerService (shared queues, one per duration)', () => {
  it('runs timers of one duration in the order they were started, never early', async () => {
    const service = new TimerService();
    const sets = [0, 1, 2].map(() => new TimerSet<'F'>(service));
    const fired: Array<[number, number]> = [];
    const started: number[] = [];
    for (const [i, set] of sets.entries()) {
      started.push(performance.now());
      set.start('F', 30, () => fired.push([i, performance.now()]));
      await sleep(5);
    }
    assert.equal(service.size, 3);
    await sleep(80);
    assert.deepEqual(fired.map(([i]) => i), [0, 1, 2]);
    for (const [i, at] of fired) assert.ok(at - started[i]! >= 30, `timer ${i} after ${(at - started[i]!).toFixed(1)} ms`);
    assert.equal(service.size, 0);
    assert.ok(sets.every((s) => s.size === 0), 'a timer that ran is no longer running');
    service.close();
  });

  it('interleaves durations by due time, and a cancelled timer never runs', async () => {
    const service = new TimerService();
    const a = new TimerSet<'E' | 'F'>(service);
    const b = new TimerSet<'E' | 'F'>(service);
    const fired: string[] = [];
    a.start('F', 60, () => fired.push('a.F'));
    a.start('E', 10, () => fired.push('a.E'));
    b.start('E', 30, () => fired.push('b.E'));
    b.start('F', 60, () => fired.push('b.F'));
    a.stop('F');
    a.start('E', 40, () => fired.push('a.E again')); // replaces the 10 ms one
    await sleep(100);
    assert.deepEqual(fired, ['b.E', 'a.E again', 'b.F']);
    service.close();
  });

  it('keeps no Node timer once every timer is cancelled or has run', async () => {
    const before = nodeTimers();
    const service = new TimerService();
    const set = new TimerSet<'F' | 'K'>(service);
    set.start('F', 5000, () => assert.fail('cancelled'));
    assert.equal(nodeTimers(), before + 1, 'one Node timer serves the queue');
    set.start('K', 10, () => undefined);
    set.stop('F');
    await sleep(30);
    assert.equal(nodeTimers(), before, 'nothing left to keep the process alive');
    service.close();
  });

  it('a throwing callback does not stop the timers due after it; the error goes to onError', async () => {
    const errors: unknown[] = [];
    const service = new TimerService((err) => errors.push(err));
    const fired: string[] = [];
    new TimerSet<'F'>(service).start('F', 10, () => {
      throw new Error('boom');
    });
    new TimerSet<'F'>(service).start('F', 10, () => fired.push('second'));
    await sleep(40);
    assert.deepEqual(fired, ['second']);
    assert.equal((errors[0] as Error | undefined)?.message, 'boom');
    service.close();
  });

  it('does not hold cancelled long timers until they would have been due (Timer F is 32 s)', () => {
    const service = new TimerService();
    const keep = new TimerSet<'F'>(service);
    keep.start('F', 32_000, () => undefined);
    for (let i = 0; i < 20_000; i++) {
      const set = new TimerSet<'F'>(service);
      set.start('F', 32_000, () => undefined);
      set.stop('F');
    }
    assert.equal(service.size, 1);
    assert.ok(service.held <= 1024, `${service.held} entries held for 1 live timer`);
    service.close();
  });

  it('close() drops every timer and ignores later ones', async () => {
    const service = new TimerService();
    const set = new TimerSet<'F'>(service);
    const fired: string[] = [];
    set.start('F', 10, () => fired.push('early'));
    service.close();
    set.start('F', 10, () => fired.push('late'));
    await sleep(30);
    assert.deepEqual(fired, []);
    assert.equal(service.size, 0);
  });
});
