import type { EncodedHistogram, LatencyStats } from './report-types.ts';

/**
 * A log-linear ("HDR-style") histogram of integer microsecond values, in fixed memory.
 *
 * Values are split into buckets by powers of two; each bucket holds `subBucketHalfCount` linear
 * sub-buckets, so every recorded value lands in a slot whose width is at most 1/subBucketHalfCount of
 * the value. With 2 significant digits (the default) that is 128 sub-buckets per half: a reported
 * percentile is never below the exact one and at most 1/128 (0.78 %) above it. Values below
 * 2 × subBucketHalfCount µs are kept exactly.
 *
 * Memory is fixed at construction: (bucketCount + 1) × subBucketHalfCount counters
 * (3,328 for 2 digits up to one hour, 26 KiB). Two histograms with the same settings merge by adding
 * their counters, so per-interval, per-step and per-machine figures combine without losing accuracy.
 */
export interface LatencyHistogramOptions {
  /** 1–4; the relative precision of recorded values is 10^-digits or better. Default 2. */
  significantDigits?: number;
  /** Largest value kept at full precision, in µs; larger values are clamped to it. Default one hour. */
  highestTrackableUs?: number;
}

const ONE_HOUR_US = 3_600_000_000;

export class LatencyHistogram {
  readonly significantDigits: number;
  readonly highestTrackableUs: number;
  /** log2 of the number of linear slots in the upper half of a bucket. */
  private readonly halfMagnitude: number;
  private readonly subBucketHalfCount: number;
  private readonly subBucketCount: number;
  private readonly bucketCount: number;
  /** Float64 counters: exact integers up to 2^53, so week-long soak runs cannot overflow a slot. */
  private readonly counts: Float64Array;
  private total = 0;
  private sum = 0;
  private minValue = Number.POSITIVE_INFINITY;
  private maxValue = 0;
  /** Values recorded above `highestTrackableUs` (clamped). */
  clamped = 0;

  constructor(opts: LatencyHistogramOptions = {}) {
    const digits = opts.significantDigits ?? 2;
    if (!Number.isInteger(digits) || digits < 1 || digits > 4) {
      throw new RangeError(`significantDigits must be an integer from 1 to 4, got ${digits}`);
    }
    const highest = opts.highestTrackableUs ?? ONE_HOUR_US;
    if (!Number.isInteger(highest) || highest < 2 || highest > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(`highestTrackableUs must be an integer of at least 2, got ${highest}`);
    }
    this.significantDigits = digits;
    this.highestTrackableUs = highest;
    // Enough linear slots that two adjacent values 10^-digits apart never share one.
    const subBucketCountMagnitude = Math.ceil(Math.log2(2 * 10 ** digits));
    this.halfMagnitude = subBucketCountMagnitude - 1;
    this.subBucketCount = 2 ** subBucketCountMagnitude;
    this.subBucketHalfCount = this.subBucketCount / 2;
    let buckets = 1;
    let reach = this.subBucketCount;
    while (reach <= highest) {
      reach *= 2;
      buckets += 1;
    }
    this.bucketCount = buckets;
    this.counts = new Float64Array((buckets + 1) * this.subBucketHalfCount);
  }

  /** Number of recorded values. */
  get count(): number {
    return this.total;
  }

  /** Smallest recorded value in µs (exact), or 0 when empty. */
  get min(): number {
    return this.total === 0 ? 0 : this.minValue;
  }

  /** Largest recorded value in µs (exact, after clamping), or 0 when empty. */
  get max(): number {
    return this.maxValue;
  }

  /** Mean of the recorded values in µs (exact), or 0 when empty. */
  get mean(): number {
    return this.total === 0 ? 0 : this.sum / this.total;
  }

  /** Size of the counter array: the fixed memory footprint in slots. */
  get slots(): number {
    return this.counts.length;
  }

  /** Records a value in µs; fractions are rounded, negatives and NaN count as 0. */
  record(valueUs: number, count = 1): void {
    let v = Number.isFinite(valueUs) && valueUs > 0 ? Math.round(valueUs) : 0;
    if (v > this.highestTrackableUs) {
      v = this.highestTrackableUs;
      this.clamped += count;
    }
    this.counts[this.indexOf(v)] += count;
    this.total += count;
    this.sum += v * count;
    if (v < this.minValue) this.minValue = v;
    if (v > this.maxValue) this.maxValue = v;
  }

  /** Records a duration given in ms (the runner's unit) at µs resolution. */
  recordMs(ms: number): void {
    this.record(ms * 1000);
  }

  /**
   * The value at or below which `percentile` % of recorded values fall, in µs.
   * Nearest-rank definition: the smallest recorded value whose rank is ≥ ceil(p/100 × count); the
   * answer is the top of that value's slot, never above the recorded maximum.
   */
  valueAtPercentile(percentile: number): number {
    if (this.total === 0) return 0;
    const p = Math.min(100, Math.max(0, percentile));
    // A tiny epsilon keeps 0.95 × 100 (= 95.00000000000001) from rounding up to rank 96.
    const rank = Math.max(1, Math.ceil((p / 100) * this.total - 1e-9));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) {
        return Math.min(this.highestEquivalent(i), this.maxValue);
      }
    }
    return this.maxValue;
  }

  /** Adds every count of `other` (same settings required) into this histogram. */
  add(other: LatencyHistogram): void {
    this.assertCompatible(other.significantDigits, other.highestTrackableUs);
    if (other.total === 0) return;
    for (let i = 0; i < other.counts.length; i++) {
      const c = other.counts[i];
      if (c !== 0) this.counts[i] += c;
    }
    this.total += other.total;
    this.sum += other.sum;
    this.clamped += other.clamped;
    if (other.minValue < this.minValue) this.minValue = other.minValue;
    if (other.maxValue > this.maxValue) this.maxValue = other.maxValue;
  }

  /** Empties the histogram, keeping its memory. */
  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.sum = 0;
    this.minValue = Number.POSITIVE_INFINITY;
    this.maxValue = 0;
    this.clamped = 0;
  }

  /** p50/p90/p95/p99/min/max/mean in ms, or null when empty. */
  stats(): LatencyStats | null {
    if (this.total === 0) return null;
    return {
      count: this.total,
      min: this.min / 1000,
      mean: this.mean / 1000,
      p50: this.valueAtPercentile(50) / 1000,
      p90: this.valueAtPercentile(90) / 1000,
      p95: this.valueAtPercentile(95) / 1000,
      p99: this.valueAtPercentile(99) / 1000,
      max: this.max / 1000,
    };
  }

  /** Sparse form for JSON: only non-empty slots, by the lowest value each slot holds. */
  encode(): EncodedHistogram {
    const buckets: [number, number][] = [];
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i];
      if (c !== 0) buckets.push([this.lowestEquivalent(i), c]);
    }
    return {
      unit: 'us',
      significantDigits: this.significantDigits,
      highestTrackableUs: this.highestTrackableUs,
      buckets,
    };
  }

  /**
   * Rebuilds a histogram from `encode()`'s output. Exact min/max/mean are not part of the encoding:
   * they come back as slot bounds (min from the lowest slot, max from the top of the highest).
   */
  static decode(e: EncodedHistogram): LatencyHistogram {
    const h = new LatencyHistogram({ significantDigits: e.significantDigits, highestTrackableUs: e.highestTrackableUs });
    for (const [value, count] of e.buckets) {
      if (count > 0) h.record(value, count);
    }
    if (h.total > 0) {
      const top = h.indexOf(h.maxValue);
      h.maxValue = Math.min(h.highestEquivalent(top), e.highestTrackableUs);
    }
    return h;
  }

  private assertCompatible(digits: number, highest: number): void {
    if (digits !== this.significantDigits || highest !== this.highestTrackableUs) {
      throw new RangeError(
        `cannot merge histograms with different settings (${digits}/${highest} vs ${this.significantDigits}/${this.highestTrackableUs})`,
      );
    }
  }

  /** Slot of a value: bucket by the value's magnitude, then a linear sub-bucket inside it. */
  private indexOf(v: number): number {
    // Bucket 0 holds 0 .. subBucketCount-1 exactly; bucket k holds [2^(k+m), 2^(k+m+1)) in steps of 2^k.
    const bucket = Math.max(0, bitLength(v) - (this.halfMagnitude + 1));
    const sub = Math.floor(v / 2 ** bucket);
    return (bucket + 1) * this.subBucketHalfCount + (sub - this.subBucketHalfCount);
  }

  private lowestEquivalent(index: number): number {
    let bucket = Math.floor(index / this.subBucketHalfCount) - 1;
    let sub = (index % this.subBucketHalfCount) + this.subBucketHalfCount;
    if (bucket < 0) {
      sub -= this.subBucketHalfCount;
      bucket = 0;
    }
    return sub * 2 ** bucket;
  }

  private highestEquivalent(index: number): number {
    const bucket = Math.max(0, Math.floor(index / this.subBucketHalfCount) - 1);
    return this.lowestEquivalent(index) + 2 ** bucket - 1;
  }
}

/** Number of bits needed to write a non-negative integer (0 → 0), valid up to 2^53. */
function bitLength(v: number): number {
  if (v < 0x1_0000_0000) return 32 - Math.clz32(v);
  return 32 + bitLength(Math.floor(v / 0x1_0000_0000));
}
