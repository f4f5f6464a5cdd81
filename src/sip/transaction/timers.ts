/**
 * RFC 3261 §17 timers, derived per transaction from the stack's T1/T2/T4 (RFC 3261 §17.1.1.1,
 * Table 4 in Appendix A) and RFC 6026 §8.11 for Timers L and M.
 */

/** Base timer values, per stack instance. */
export interface TimerConfig {
  /** RTT estimate; default 500 ms. */
  t1: number;
  /** Cap on retransmit intervals for non-INVITE requests and INVITE responses; default 4 s. */
  t2: number;
  /** Longest time a message stays in the network; default 5 s. */
  t4: number;
}

export const DEFAULT_TIMER_CONFIG: Readonly<TimerConfig> = Object.freeze({ t1: 500, t2: 4000, t4: 5000 });

/** Fills defaults and checks the values make sense (T1 ≤ T2, all positive). */
export function resolveTimerConfig(partial: Partial<TimerConfig> = {}): TimerConfig {
  const cfg: TimerConfig = {
    t1: partial.t1 ?? DEFAULT_TIMER_CONFIG.t1,
    t2: partial.t2 ?? DEFAULT_TIMER_CONFIG.t2,
    t4: partial.t4 ?? DEFAULT_TIMER_CONFIG.t4,
  };
  for (const [name, v] of Object.entries(cfg)) {
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`timer ${name} must be a positive number of ms, got ${v}`);
  }
  if (cfg.t2 < cfg.t1) throw new RangeError(`T2 (${cfg.t2}) must not be below T1 (${cfg.t1})`);
  return cfg;
}

/**
 * The timers of one transaction, in ms. A retransmit timer of 0 means "do not retransmit" (reliable
 * transport); a wait timer of 0 means "leave the state at once".
 */
export interface TransactionTimers {
  /** INVITE request retransmit, initial interval (doubles each time). */
  A: number;
  /** INVITE transaction timeout. */
  B: number;
  /** Wait time for response retransmissions after a non-2xx final response to INVITE. */
  D: number;
  /** Non-INVITE request retransmit, initial interval (doubles, capped at T2). */
  E: number;
  /** Non-INVITE transaction timeout. */
  F: number;
  /** INVITE final response retransmit, initial interval (doubles, capped at T2). */
  G: number;
  /** Wait time for ACK receipt. */
  H: number;
  /** Wait time for ACK retransmissions. */
  I: number;
  /** Wait time for non-INVITE request retransmissions. */
  J: number;
  /** Wait time for non-INVITE response retransmissions. */
  K: number;
  /** INVITE server transaction: wait in Accepted for INVITE retransmissions (RFC 6026 §8.7). */
  L: number;
  /** INVITE client transaction: wait in Accepted for 2xx retransmissions and forks (RFC 6026 §8.4). */
  M: number;
  /** Cap for the doubling intervals (T2). */
  cap: number;
}

/**
 * Timers for one transaction over a reliable or unreliable transport.
 *
 * Deviation: RFC 3261 asks for Timer D "at least 32 s" on unreliable transports. We use 64×T1, which is
 * 32 s at the default T1 and scales with T1 so that a shrunk T1 (tests, low-latency links) shrinks D too.
 */
export function transactionTimers(cfg: TimerConfig, reliable: boolean): TransactionTimers {
  const { t1, t2, t4 } = cfg;
  return {
    A: reliable ? 0 : t1, // retransmit only on unreliable transports (RFC 3261 §17.1.1.2)
    B: 64 * t1,
    D: reliable ? 0 : 64 * t1, // (RFC 3261 §17.1.1.2, Table 4)
    E: reliable ? 0 : t1, // (RFC 3261 §17.1.2.2)
    F: 64 * t1,
    G: reliable ? 0 : t1, // (RFC 3261 §17.2.1)
    H: 64 * t1,
    I: reliable ? 0 : t4, // (RFC 3261 §17.2.1)
    J: reliable ? 0 : 64 * t1, // (RFC 3261 §17.2.2)
    K: reliable ? 0 : t4, // (RFC 3261 §17.1.2.2)
    L: 64 * t1, // (RFC 6026 §8.7)
    M: 64 * t1, // (RFC 6026 §8.4)
    cap: t2,
  };
}

/** A named one-shot timer set that a transaction clears in one call when it terminates. */
export class TimerSet<Name extends string> {
  private readonly handles = new Map<Name, NodeJS.Timeout>();

  /** (Re)starts `name`; a running timer of the same name is replaced. */
  start(name: Name, ms: number, fire: () => void): void {
    this.stop(name);
    const handle = setTimeout(() => {
      this.handles.delete(name);
      fire();
    }, ms);
    this.handles.set(name, handle);
  }

  stop(name: Name): void {
    const h = this.handles.get(name);
    if (h !== undefined) {
      clearTimeout(h);
      this.handles.delete(name);
    }
  }

  running(name: Name): boolean {
    return this.handles.has(name);
  }

  clear(): void {
    for (const h of this.handles.values()) clearTimeout(h);
    this.handles.clear();
  }

  get size(): number {
    return this.handles.size;
  }
}
