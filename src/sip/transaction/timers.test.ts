import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_TIMER_CONFIG, resolveTimerConfig, TimerSet, transactionTimers } from './timers.ts';

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
