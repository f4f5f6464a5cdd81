import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatencyHistogram } from './latency-histogram.ts';

/** A seeded generator (mulberry32), so a failing case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Nearest-rank percentile of sorted integers: the value of rank ceil(p/100 × n). */
function exactPercentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length - 1e-9));
  return sorted[rank - 1];
}

const PERCENTILES = [0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100];

function checkAgainstExact(values: number[], digits = 2): void {
  const h = new LatencyHistogram({ significantDigits: digits });
  for (const v of values) h.record(v);
  const sorted = values.map((v) => Math.round(v)).sort((a, b) => a - b);
  // The stated bound: never below the exact value, at most one slot width above it.
  const halfSlots = digits === 2 ? 128 : 1024;
  for (const p of PERCENTILES) {
    const exact = exactPercentile(sorted, p);
    const got = h.valueAtPercentile(p);
    assert.ok(got >= exact, `p${p}: ${got} below exact ${exact}`);
    assert.ok(got <= exact + Math.max(0, exact / halfSlots), `p${p}: ${got} more than 1/${halfSlots} above exact ${exact}`);
  }
  assert.equal(h.count, values.length);
  assert.equal(h.min, sorted[0]);
  assert.equal(h.max, sorted[sorted.length - 1]);
}

describe('LatencyHistogram (log-linear buckets, 2 significant digits by default)', () => {
  it('reports percentiles within +0.78 % of the exact ones for uniform µs..minutes data', () => {
    const rnd = prng(1);
    checkAgainstExact(Array.from({ length: 20_000 }, () => Math.floor(rnd() * 300_000_000)));
  });

  it('stays within its bound on a heavy-tailed (log-normal) latency distribution', () => {
    const rnd = prng(2);
    const values = Array.from({ length: 20_000 }, () => {
      // Box–Muller: median ~8 ms, with a tail into seconds.
      const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
      return Math.round(Math.exp(Math.log(8000) + 1.4 * z));
    });
    checkAgainstExact(values);
  });

  it('stays within its bound on exponential data and on a bimodal mix', () => {
    const rnd = prng(3);
    checkAgainstExact(Array.from({ length: 10_000 }, () => -Math.log(1 - rnd()) * 20_000));
    checkAgainstExact(Array.from({ length: 10_000 }, (_, i) => (i % 10 === 0 ? 5_000_000 + rnd() * 1e6 : 300 + rnd() * 900)));
  });

  it('is finer with 3 significant digits', () => {
    const rnd = prng(4);
    checkAgainstExact(Array.from({ length: 10_000 }, () => rnd() * 60_000_000), 3);
  });

  it('keeps values below 256 µs exact', () => {
    const h = new LatencyHistogram();
    for (let v = 0; v < 256; v++) h.record(v);
    for (let v = 1; v <= 256; v++) assert.equal(h.valueAtPercentile((v / 256) * 100), v - 1);
  });

  it('rounds fractions, treats negatives and NaN as 0, and records ms at µs resolution', () => {
    const h = new LatencyHistogram();
    h.record(1.6);
    h.record(-5);
    h.record(Number.NaN);
    h.recordMs(0.123);
    assert.deepEqual([h.valueAtPercentile(25), h.valueAtPercentile(50), h.valueAtPercentile(75), h.valueAtPercentile(100)], [0, 0, 2, 123]);
  });

  it('uses fixed memory whatever it records', () => {
    const h = new LatencyHistogram();
    const before = h.slots;
    assert.equal(before, 26 * 128, 'one hour at 2 digits: 25 buckets + 1 half-bucket of 128 slots');
    const rnd = prng(5);
    for (let i = 0; i < 100_000; i++) h.record(rnd() * 3.6e9);
    assert.equal(h.slots, before);
  });

  it('clamps values above the trackable range and counts them', () => {
    const h = new LatencyHistogram({ highestTrackableUs: 1_000_000 });
    h.record(5_000_000);
    h.record(10);
    assert.equal(h.clamped, 1);
    assert.equal(h.max, 1_000_000);
    assert.equal(h.valueAtPercentile(100), 1_000_000);
  });

  it('merges: two halves added together answer like one histogram of all values', () => {
    const rnd = prng(6);
    const all = new LatencyHistogram();
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let i = 0; i < 10_000; i++) {
      const v = rnd() < 0.5 ? rnd() * 1e4 : rnd() * 1e7;
      all.record(v);
      (i % 2 ? a : b).record(v);
    }
    a.add(b);
    assert.equal(a.count, all.count);
    assert.equal(a.min, all.min);
    assert.equal(a.max, all.max);
    assert.ok(Math.abs(a.mean - all.mean) < 1e-6 * all.mean);
    for (const p of PERCENTILES) assert.equal(a.valueAtPercentile(p), all.valueAtPercentile(p), `p${p}`);
  });

  it('refuses to merge histograms with different settings', () => {
    assert.throws(() => new LatencyHistogram().add(new LatencyHistogram({ significantDigits: 3 })), RangeError);
  });

  it('round-trips through its sparse encoding', () => {
    const rnd = prng(7);
    const h = new LatencyHistogram();
    for (let i = 0; i < 5000; i++) h.record(rnd() * 2e6);
    const e = JSON.parse(JSON.stringify(h.encode()));
    assert.equal(e.unit, 'us');
    const back = LatencyHistogram.decode(e);
    assert.equal(back.count, h.count);
    for (const p of [50, 90, 99]) assert.equal(back.valueAtPercentile(p), h.valueAtPercentile(p));
    assert.ok(back.max >= h.max && back.max <= h.max * (1 + 1 / 128));
  });

  it('gives stats in ms and null when empty; reset empties it', () => {
    const h = new LatencyHistogram();
    assert.equal(h.stats(), null);
    assert.equal(h.valueAtPercentile(50), 0);
    h.recordMs(10);
    h.recordMs(20);
    const s = h.stats();
    assert.ok(s);
    assert.equal(s.count, 2);
    assert.equal(s.min, 10);
    assert.equal(s.mean, 15);
    assert.ok(s.p50 >= 10 && s.p50 <= 10 * (1 + 1 / 128));
    assert.equal(s.max, 20);
    h.reset();
    assert.equal(h.count, 0);
    assert.equal(h.stats(), null);
  });

  it('rejects impossible settings', () => {
    assert.throws(() => new LatencyHistogram({ significantDigits: 0 }), RangeError);
    assert.throws(() => new LatencyHistogram({ significantDigits: 6 }), RangeError);
    assert.throws(() => new LatencyHistogram({ highestTrackableUs: 1 }), RangeError);
  });
});
