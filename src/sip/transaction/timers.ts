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

/**
 * The timers of every transaction of one layer, one FIFO per duration.
 *
 * A UDP stack starts three timers per non-INVITE transaction (E, F, K) and cancels two. Through
 * setTimeout each is a Timeout object with async-hooks bookkeeping, and the Timer K one lives for
 * T4 (5 s), long enough to be promoted to the old generation. Timers of one duration fall due in
 * the order they were started, so here each duration keeps a FIFO of small entries, served by a
 * single Node timer armed for the earliest live one. A cancelled entry only loses its references
 * and is skipped or swept later. Timers never fire early.
 */
export class TimerService {
  private readonly queues = new Map<number, TimerQueue>();
  private closed = false;

  /**
   * `onError` gets what a timer callback throws, so the timers due after it still run; without
   * it the error is rethrown from a microtask, as an uncaught exception, like a Node timer's.
   */
  constructor(private readonly onError: (err: unknown) => void = rethrowLater) {}

  /** @internal The queue for `ms`; entries are added through `TimerSet`. */
  queue(ms: number): TimerQueue {
    let q = this.queues.get(ms);
    if (q === undefined) {
      q = new TimerQueue(ms, this.closed, this.onError);
      this.queues.set(ms, q);
    }
    return q;
  }

  /** Live timers across every duration. */
  get size(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.live;
    return n;
  }

  /** Entries held, live or not yet swept: what the queues cost in memory. */
  get held(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.held;
    return n;
  }

  /** Drops every timer; later ones are ignored. Idempotent. */
  close(): void {
    this.closed = true;
    for (const q of this.queues.values()) q.close();
    this.queues.clear();
  }
}

/** What a queue entry belongs to: told first when its timer runs. */
export interface TimerOwner {
  fired(name: string, entry: TimerEntry): void;
}

/** Timer callbacks run from a queue: a throw must not strand the entries after it. */
function rethrowLater(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}

/** @internal One timer in a `TimerQueue`; `owner` undefined once it ran or was cancelled. */
export class TimerEntry {
  constructor(
    readonly due: number,
    public owner: TimerOwner | undefined,
    readonly name: string,
    public fire: (() => void) | undefined,
  ) {}
}

/** @internal One duration's FIFO of `TimerService`. */
export class TimerQueue {
  /** Entries in the order started (so by due time); before `head` everything has run or gone. */
  private entries: TimerEntry[] = [];
  private head = 0;
  live = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Inside `run`: it arms the Node timer itself when it is done. */
  private running = false;

  constructor(
    private readonly ms: number,
    private closed: boolean,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Adds an entry due in this queue's duration; `fire` (if any) runs after `owner.fired`. Undefined once closed. */
  add(owner: TimerOwner, name: string, fire?: () => void): TimerEntry | undefined {
    if (this.closed) return undefined;
    const entry = new TimerEntry(performance.now() + this.ms, owner, name, fire);
    this.entries.push(entry);
    this.live++;
    if (this.timer === undefined && !this.running) this.timer = setTimeout(this.run, this.ms);
    return entry;
  }

  /** Entries still in the array, cancelled ones included. */
  get held(): number {
    return this.entries.length - this.head;
  }

  cancel(entry: TimerEntry): void {
    if (entry.owner === undefined) return;
    entry.owner = undefined;
    entry.fire = undefined;
    this.live--;
    if (this.running) return;
    if (this.live === 0) this.reset();
    else this.sweep();
  }

  close(): void {
    this.closed = true;
    this.reset();
  }

  private readonly run = (): void => {
    this.timer = undefined;
    this.running = true;
    const now = performance.now();
    // Callbacks may add to this queue (Timer E at its cap re-arms with the same interval) or
    // cancel entries of it; the loop reads the array afresh each turn.
    while (this.head < this.entries.length) {
      const entry = this.entries[this.head]!;
      const owner = entry.owner;
      if (owner === undefined) {
        this.head++;
        continue;
      }
      if (entry.due > now) break;
      const fire = entry.fire;
      entry.owner = undefined;
      entry.fire = undefined;
      this.head++;
      this.live--;
      try {
        owner.fired(entry.name, entry);
        fire?.();
      } catch (err) {
        this.onError(err);
      }
    }
    this.running = false;
    if (this.live === 0 || this.closed) {
      this.reset();
      return;
    }
    this.sweep();
    while (this.entries[this.head]!.owner === undefined) this.head++;
    this.timer = setTimeout(this.run, Math.max(1, Math.ceil(this.entries[this.head]!.due - performance.now())));
  };

  /**
   * Drops entries that ran or were cancelled once they outnumber the live ones: a Timer F (32 s)
   * is nearly always cancelled within milliseconds, and its entry must not wait 32 s to go.
   */
  private sweep(): void {
    const pending = this.entries.length - this.head;
    if (pending < 1024 || pending < 4 * this.live) return;
    const kept: TimerEntry[] = [];
    for (let i = this.head; i < this.entries.length; i++) if (this.entries[i]!.owner !== undefined) kept.push(this.entries[i]!);
    this.entries = kept;
    this.head = 0;
  }

  private reset(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (let i = this.head; i < this.entries.length; i++) {
      this.entries[i]!.owner = undefined;
      this.entries[i]!.fire = undefined;
    }
    this.entries = [];
    this.head = 0;
    this.live = 0;
  }
}

/**
 * A transaction's named one-shot timers, cleared in one call when it terminates. With a
 * `TimerService` they are entries in its shared queues; without one (standalone use), Node timers.
 */
export class TimerSet<Name extends string> implements TimerOwner {
  /** [name, queue or undefined, entry or Timeout] per running timer; a transaction runs at most three at once. */
  private slots: unknown[] = [];
  private readonly service: TimerService | undefined;

  constructor(service?: TimerService) {
    this.service = service;
  }

  /** (Re)starts `name`; a running timer of the same name is replaced. */
  start(name: Name, ms: number, fire: () => void): void {
    this.stop(name);
    if (this.service) {
      const queue = this.service.queue(ms);
      const entry = queue.add(this, name, fire);
      if (entry !== undefined) this.slots.push(name, queue, entry);
      return;
    }
    const handle = setTimeout(() => {
      this.forget(name);
      fire();
    }, ms);
    this.slots.push(name, undefined, handle);
  }

  stop(name: Name): void {
    const i = this.indexOf(name);
    if (i === -1) return;
    const queue = this.slots[i + 1] as TimerQueue | undefined;
    if (queue) queue.cancel(this.slots[i + 2] as TimerEntry);
    else clearTimeout(this.slots[i + 2] as NodeJS.Timeout);
    this.slots.splice(i, 3);
  }

  running(name: Name): boolean {
    return this.indexOf(name) !== -1;
  }

  clear(): void {
    const s = this.slots;
    for (let i = 0; i < s.length; i += 3) {
      const queue = s[i + 1] as TimerQueue | undefined;
      if (queue) queue.cancel(s[i + 2] as TimerEntry);
      else clearTimeout(s[i + 2] as NodeJS.Timeout);
    }
    s.length = 0;
  }

  get size(): number {
    return this.slots.length / 3;
  }

  /** @internal The queue ran the timer `name` (`entry`): it is no longer running. */
  fired(name: string, entry: TimerEntry): void {
    const s = this.slots;
    for (let i = 0; i < s.length; i += 3) {
      if (s[i] === name && s[i + 2] === entry) {
        s.splice(i, 3);
        return;
      }
    }
  }

  private forget(name: Name): void {
    const i = this.indexOf(name);
    if (i !== -1) this.slots.splice(i, 3);
  }

  private indexOf(name: Name): number {
    const s = this.slots;
    for (let i = 0; i < s.length; i += 3) if (s[i] === name) return i;
    return -1;
  }
}
