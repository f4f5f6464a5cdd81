import { performance } from 'node:perf_hooks';
import { cloneCounters, countOutcome, emptyCounters, mergeIntervals, ratesOf, ratio, topReasons } from './counters.ts';
import { IntervalCsvWriter } from './interval-csv.ts';
import { LadderSampler } from './ladder-sampler.ts';
import { LatencyHistogram } from './latency-histogram.ts';
import type {
  Counters,
  FailureSummary,
  FlowEvent,
  FlowSummary,
  IntervalLatency,
  IntervalSnapshot,
  LadderEntry,
  RunInfo,
  RunSummary,
  SampleLadder,
  StepEvent,
  StepSummary,
  Verdict,
} from './report-types.ts';

export interface RunRecorderOptions {
  /** Length of a reporting interval in ms. Default 1000. */
  intervalMs?: number;
  /** When set, one CSV row per interval is appended to this file as the interval closes. */
  csvPath?: string;
  /** Called with each closed interval; a throwing callback is isolated from the recorder. */
  onInterval?: (snap: IntervalSnapshot) => void;
  /** Describes the run (flow, target, clients, rate, duration ...) for the report headers. */
  run?: RunInfo;
  /** Monotonic clock in ms. Default `performance.now`. */
  clock?: () => number;
  /**
   * Whether a timer closes intervals even when no event arrives. Default true, or false when a
   * `clock` is given (the caller then drives time with `tick()`).
   */
  autoTick?: boolean;
  /** Transcripts kept: the first flow of this many clients (default 20) ... */
  sampleClients?: number;
  /** ... and this many failed flows (default 5). */
  sampleFailedFlows?: number;
  /** Entries kept per transcript (default 200). */
  maxTranscriptEntries?: number;
  /** Interval history kept in memory for the HTML report; older intervals are merged pairwise past it. Default 20,000. */
  maxIntervalsKept?: number;
}

interface StepTally {
  flow: string;
  step: string;
  counters: Counters;
  latency: LatencyHistogram;
}

interface FlowTally {
  flow: string;
  counters: Counters;
  duration: LatencyHistogram;
}

interface FailureTally {
  steps: Map<string, { flow: string; step: string; count: number }>;
  examples: string[];
}

const MAX_EXAMPLES = 5;
const MAX_EXAMPLE_LENGTH = 500;

/**
 * Collects everything a flow run measures: per step and per flow, attempts, successes and failures
 * by reason, latency in HDR-style histograms, concurrent clients, and rates per interval and
 * cumulative. Events are counted in the interval during which they are reported.
 *
 * Latency percentiles are of successful attempts only: a timeout's duration is the timeout setting,
 * not a response time, and would otherwise become the p99.
 */
export class RunRecorder {
  readonly intervalMs: number;
  private readonly clock: () => number;
  private readonly onInterval: ((snap: IntervalSnapshot) => void) | undefined;
  private readonly run: RunInfo;
  private readonly csv: IntervalCsvWriter | null;
  private readonly timer: NodeJS.Timeout | null;
  private readonly maxIntervalsKept: number;
  private readonly sampler: LadderSampler;

  private readonly t0: number;
  private readonly wall0: number;
  private endedAt: number | null = null;

  private readonly stepTallies = new Map<string, StepTally>();
  private readonly flowTallies = new Map<string, FlowTally>();
  private readonly failureTallies = new Map<string, FailureTally>();
  private readonly stepsTotal = emptyCounters();
  private readonly flowsTotal = emptyCounters();
  private readonly stepLatency = new LatencyHistogram();

  private readonly active = new Set<number>();
  private maxActive = 0;
  private started = 0;
  private ended = 0;

  // The interval being filled.
  private intervalIndex = 0;
  private intervalStart: number;
  private intervalSteps = emptyCounters();
  private intervalFlows = emptyCounters();
  private intervalMaxActive = 0;
  private readonly intervalLatency = new LatencyHistogram();
  private lastClosed: IntervalSnapshot | null = null;
  private history: IntervalSnapshot[] = [];

  private verdictOverride: { verdict: Verdict; reason: string } | null = null;
  private lateEvents = 0;

  constructor(opts: RunRecorderOptions = {}) {
    const intervalMs = opts.intervalMs ?? 1000;
    if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) throw new RangeError(`intervalMs must be positive, got ${intervalMs}`);
    this.intervalMs = intervalMs;
    this.clock = opts.clock ?? (() => performance.now());
    this.onInterval = opts.onInterval;
    this.run = { ...(opts.run ?? {}) };
    this.maxIntervalsKept = Math.max(16, opts.maxIntervalsKept ?? 20_000);
    this.sampler = new LadderSampler({
      clients: opts.sampleClients,
      failedFlows: opts.sampleFailedFlows,
      maxEntriesPerTranscript: opts.maxTranscriptEntries,
    });
    this.t0 = this.clock();
    this.wall0 = Date.now();
    this.intervalStart = this.t0;
    this.csv = opts.csvPath ? new IntervalCsvWriter(opts.csvPath) : null;
    const autoTick = opts.autoTick ?? opts.clock === undefined;
    if (autoTick) {
      this.timer = setInterval(() => this.tick(), intervalMs);
      // The recorder must never keep a finished run's process alive.
      this.timer.unref();
    } else {
      this.timer = null;
    }
  }

  get closed(): boolean {
    return this.endedAt !== null;
  }

  clientStarted(clientId: number): void {
    if (this.late()) return;
    this.advance();
    this.started += 1;
    this.active.add(clientId);
    if (this.active.size > this.maxActive) this.maxActive = this.active.size;
    if (this.active.size > this.intervalMaxActive) this.intervalMaxActive = this.active.size;
    this.sampler.clientSeen(clientId);
  }

  clientEnded(clientId: number): void {
    if (this.late()) return;
    this.advance();
    // A client ended twice (or never started) is not counted again.
    if (this.active.delete(clientId)) this.ended += 1;
    this.sampler.clientEnded(clientId);
  }

  stepFinished(e: StepEvent): void {
    if (this.late()) return;
    this.advance();
    const key = `${e.flow}\u0000${e.step}`;
    let t = this.stepTallies.get(key);
    if (!t) {
      t = { flow: e.flow, step: e.step, counters: emptyCounters(), latency: new LatencyHistogram() };
      this.stepTallies.set(key, t);
    }
    const outcome = String(e.outcome);
    countOutcome(t.counters, outcome);
    countOutcome(this.stepsTotal, outcome);
    countOutcome(this.intervalSteps, outcome);
    if (outcome === 'success') {
      const us = e.durationMs * 1000;
      t.latency.record(us);
      this.stepLatency.record(us);
      this.intervalLatency.record(us);
    } else {
      this.noteFailure(outcome, e.flow, e.step, key, e.detail);
    }
  }

  flowFinished(e: FlowEvent): void {
    if (this.late()) return;
    this.advance();
    let t = this.flowTallies.get(e.flow);
    if (!t) {
      t = { flow: e.flow, counters: emptyCounters(), duration: new LatencyHistogram() };
      this.flowTallies.set(e.flow, t);
    }
    const outcome = e.ok ? 'success' : (e.reason ?? 'unspecified');
    countOutcome(t.counters, outcome);
    countOutcome(this.flowsTotal, outcome);
    countOutcome(this.intervalFlows, outcome);
    if (e.ok) t.duration.record(e.durationMs * 1000);
    this.sampler.flowEnded(e.clientId, e.flow, e.ok, e.ok ? undefined : e.reason, e.durationMs);
  }

  transcript(clientId: number, entry: LadderEntry): void {
    if (this.late()) return;
    this.sampler.add(clientId, entry);
  }

  /**
   * Addition to the contract: true when `transcript()` entries for this client would be kept, so a
   * runner under load can skip formatting them.
   */
  wantsTranscript(clientId: number): boolean {
    return !this.closed && this.sampler.wants(clientId);
  }

  /** Closes every interval whose end has passed. Called by the timer; callable by a runner or a test clock. */
  tick(): void {
    if (this.closed) return;
    this.advance();
  }

  /**
   * The last closed interval (or the partial first one when none has closed yet), with cumulative
   * figures and client counts up to now.
   */
  snapshot(): IntervalSnapshot {
    const now = this.closed ? (this.endedAt as number) : this.clock();
    if (!this.closed) this.advance(now);
    const base = this.lastClosed ?? this.buildInterval(now);
    const elapsedMs = now - this.t0;
    const cumulative = cloneCounters(this.stepsTotal);
    const flowsCumulative = cloneCounters(this.flowsTotal);
    return {
      ...base,
      at: this.wall0 + elapsedMs,
      elapsedMs,
      cumulative,
      cumulativeRate: ratesOf(cumulative, elapsedMs),
      flows: { interval: base.flows.interval, cumulative: flowsCumulative },
      activeClients: this.active.size,
      maxActiveClients: this.maxActive,
      clientsStarted: this.started,
      clientsEnded: this.ended,
    };
  }

  /** Addition to the contract: every closed interval, oldest first (merged pairwise in very long runs). */
  intervals(): IntervalSnapshot[] {
    return this.history.slice();
  }

  /** Addition to the contract: the kept transcripts, failed flows first. */
  sampleLadders(): SampleLadder[] {
    return this.sampler.samples();
  }

  /** Addition to the contract: lets the runner state the verdict (e.g. 'aborted' on a signal). */
  setVerdict(verdict: Verdict, reason: string): void {
    this.verdictOverride = { verdict, reason };
  }

  /** Addition to the contract: merges more run description into the report header. */
  describeRun(info: RunInfo): void {
    Object.assign(this.run, info);
  }

  summary(): RunSummary {
    const end = this.endedAt ?? this.clock();
    const durationMs = Math.max(0, end - this.t0);
    const byStep: StepSummary[] = [...this.stepTallies.values()].map((t) => ({
      flow: t.flow,
      step: t.step,
      ...cloneCounters(t.counters),
      successRatio: ratio(t.counters.successes, t.counters.attempts),
      rate: ratesOf(t.counters, durationMs),
      latencyMs: t.latency.stats(),
      histogram: t.latency.encode(),
    }));
    const byFlow: FlowSummary[] = [...this.flowTallies.values()].map((t) => ({
      flow: t.flow,
      ...cloneCounters(t.counters),
      successRatio: ratio(t.counters.successes, t.counters.attempts),
      rate: ratesOf(t.counters, durationMs),
      durationMs: t.duration.stats(),
      histogram: t.duration.encode(),
    }));
    const failures: FailureSummary[] = topReasons(this.stepsTotal.failuresByReason).map(([reason, count]) => {
      const tally = this.failureTallies.get(reason);
      return {
        reason,
        count,
        steps: tally ? [...tally.steps.values()].sort((a, b) => b.count - a.count).map((s) => ({ ...s })) : [],
        examples: tally ? tally.examples.slice() : [],
      };
    });
    const { verdict, reason } = this.verdictOverride ?? this.defaultVerdict();
    return {
      version: 1,
      run: { ...this.run },
      verdict,
      verdictReason: reason,
      startedAt: new Date(this.wall0).toISOString(),
      endedAt: new Date(this.wall0 + durationMs).toISOString(),
      durationMs,
      intervalMs: this.intervalMs,
      clients: { started: this.started, ended: this.ended, active: this.active.size, maxActive: this.maxActive },
      steps: {
        ...cloneCounters(this.stepsTotal),
        successRatio: ratio(this.stepsTotal.successes, this.stepsTotal.attempts),
        rate: ratesOf(this.stepsTotal, durationMs),
        latencyMs: this.stepLatency.stats(),
      },
      flows: {
        ...cloneCounters(this.flowsTotal),
        successRatio: ratio(this.flowsTotal.successes, this.flowsTotal.attempts),
        rate: ratesOf(this.flowsTotal, durationMs),
      },
      byStep,
      byFlow,
      failures,
      eventsAfterClose: this.lateEvents,
    };
  }

  /**
   * Ends the run: closes the last (possibly partial) interval, writes its CSV row, closes the CSV file
   * and stops the timer. Idempotent; events reported afterwards are only counted as late.
   */
  close(): void {
    if (this.closed) return;
    const now = this.clock();
    this.advance(now);
    if (now > this.intervalStart) this.closeInterval(now);
    this.endedAt = now;
    if (this.timer) clearInterval(this.timer);
    this.csv?.close();
  }

  private late(): boolean {
    if (!this.closed) return false;
    this.lateEvents += 1;
    return true;
  }

  /** Closes every interval that ended at or before `now`, including empty ones, so time stays continuous. */
  private advance(now = this.clock()): void {
    while (now >= this.intervalStart + this.intervalMs) {
      this.closeInterval(this.intervalStart + this.intervalMs);
    }
  }

  private closeInterval(end: number): void {
    const snap = this.buildInterval(end);
    this.lastClosed = snap;
    this.history.push(snap);
    if (this.history.length > this.maxIntervalsKept) this.coarsenHistory();
    this.csv?.append(snap);
    this.intervalIndex += 1;
    this.intervalStart = end;
    this.intervalSteps = emptyCounters();
    this.intervalFlows = emptyCounters();
    this.intervalMaxActive = this.active.size;
    this.intervalLatency.reset();
    if (this.onInterval) {
      try {
        this.onInterval(snap);
      } catch {
        // A failing progress printer must not stop the measurements.
      }
    }
  }

  private buildInterval(end: number): IntervalSnapshot {
    const ms = end - this.intervalStart;
    const elapsedMs = end - this.t0;
    const h = this.intervalLatency;
    const latency: IntervalLatency =
      h.count === 0
        ? { count: 0, p50: null, p95: null, p99: null, max: null }
        : {
            count: h.count,
            p50: h.valueAtPercentile(50) / 1000,
            p95: h.valueAtPercentile(95) / 1000,
            p99: h.valueAtPercentile(99) / 1000,
            max: h.max / 1000,
          };
    const cumulative = cloneCounters(this.stepsTotal);
    return {
      index: this.intervalIndex,
      at: this.wall0 + elapsedMs,
      elapsedMs,
      intervalMs: ms,
      interval: cloneCounters(this.intervalSteps),
      cumulative,
      rate: ratesOf(this.intervalSteps, ms),
      cumulativeRate: ratesOf(cumulative, elapsedMs),
      latency,
      flows: { interval: cloneCounters(this.intervalFlows), cumulative: cloneCounters(this.flowsTotal) },
      activeClients: this.active.size,
      intervalMaxActiveClients: this.intervalMaxActive,
      maxActiveClients: this.maxActive,
      clientsStarted: this.started,
      clientsEnded: this.ended,
    };
  }

  /** Halves the kept history by merging neighbours; the CSV keeps full resolution. */
  private coarsenHistory(): void {
    const merged: IntervalSnapshot[] = [];
    for (let i = 0; i + 1 < this.history.length; i += 2) merged.push(mergeIntervals(this.history[i], this.history[i + 1]));
    if (this.history.length % 2 === 1) merged.push(this.history[this.history.length - 1]);
    this.history = merged;
  }

  private noteFailure(reason: string, flow: string, step: string, key: string, detail: string | undefined): void {
    let t = this.failureTallies.get(reason);
    if (!t) {
      t = { steps: new Map(), examples: [] };
      this.failureTallies.set(reason, t);
    }
    const s = t.steps.get(key);
    if (s) s.count += 1;
    else t.steps.set(key, { flow, step, count: 1 });
    if (detail && t.examples.length < MAX_EXAMPLES) {
      const text = detail.length > MAX_EXAMPLE_LENGTH ? `${detail.slice(0, MAX_EXAMPLE_LENGTH)}…` : detail;
      const example = `${step}: ${text}`;
      if (!t.examples.includes(example)) t.examples.push(example);
    }
  }

  private defaultVerdict(): { verdict: Verdict; reason: string } {
    const s = this.stepsTotal;
    const f = this.flowsTotal;
    if (s.attempts === 0 && f.attempts === 0) return { verdict: 'no-traffic', reason: 'no step was attempted' };
    if (s.failures === 0 && f.failures === 0) {
      return { verdict: 'pass', reason: `all ${f.attempts} flows and ${s.attempts} steps succeeded` };
    }
    // Step reasons name the cause; a flow may also fail on its own (e.g. a loop limit) with no failed step.
    const top = topReasons(s.failures > 0 ? s.failuresByReason : f.failuresByReason)[0];
    const topText = top ? `; most common: ${top[0]} (${top[1]})` : '';
    return {
      verdict: 'fail',
      reason: `${f.failures} of ${f.attempts} flows and ${s.failures} of ${s.attempts} steps failed${topText}`,
    };
  }
}
