/**
 * A circuit breaker per app: after `failures` consecutive failures (unreachable, timed out, 5xx,
 * invalid answer) the circuit opens and requests fail at once for `cooldownMs`, so a dead backend
 * costs callers nothing (WCS §3.2 item 2); then one request is let through (half-open), and its
 * outcome closes or reopens the circuit. A refusal (4xx) is an answer, not a failure.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  private readonly threshold: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private consecutive = 0;
  private openedAt = 0;
  private stateValue: BreakerState = 'closed';
  private probing = false;

  constructor(opts: { failures: number; cooldownMs: number; now?: () => number }) {
    this.threshold = opts.failures;
    this.cooldownMs = opts.cooldownMs;
    this.now = opts.now ?? Date.now;
  }

  get state(): BreakerState {
    if (this.stateValue === 'open' && this.now() - this.openedAt >= this.cooldownMs) return 'half-open';
    return this.stateValue;
  }

  /** Whether a request may go now; in half-open only one at a time. */
  allow(): boolean {
    if (this.threshold === 0) return true;
    const s = this.state;
    if (s === 'closed') return true;
    if (s === 'open') return false;
    if (this.probing) return false;
    this.probing = true;
    return true;
  }

  /** How long until the next request may go (0 if now). */
  retryInMs(): number {
    if (this.stateValue !== 'open') return 0;
    return Math.max(0, this.cooldownMs - (this.now() - this.openedAt));
  }

  success(): void {
    this.consecutive = 0;
    this.probing = false;
    this.stateValue = 'closed';
  }

  failure(): void {
    this.probing = false;
    this.consecutive++;
    if (this.threshold > 0 && (this.stateValue !== 'closed' || this.consecutive >= this.threshold)) {
      this.stateValue = 'open';
      this.openedAt = this.now();
    }
  }

  get failures(): number {
    return this.consecutive;
  }
}
